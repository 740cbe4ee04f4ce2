"""The append-only record of what coordinators and admins did, and why."""
