"""Platform administration: rings, their coordinators and gemeente viewers."""
