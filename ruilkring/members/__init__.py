"""Members of a ring: sign-up, approval, statuses, profiles and erasure on request."""
