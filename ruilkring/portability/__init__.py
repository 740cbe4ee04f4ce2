"""Data portability: export of a ring or a member's own data, and import from other systems."""
