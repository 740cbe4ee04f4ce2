"""The time-credit ledger: accounts, transfers and their double entries."""
