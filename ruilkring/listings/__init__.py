"""Vraag en aanbod: what members offer and ask for, search, matches and pictures."""
