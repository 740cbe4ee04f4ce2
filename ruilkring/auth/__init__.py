"""Accounts: log in and out, passwords, and the user's own account details."""
