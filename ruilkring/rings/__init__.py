"""Rings (ruilkringen), the gemeenten that fund them and their wijken; admin set-up."""
