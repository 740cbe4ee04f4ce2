"""The read-only view of a gemeente: aggregate figures only, never a person."""
