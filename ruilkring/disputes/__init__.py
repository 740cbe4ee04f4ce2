"""Geschillen: a party contests a transfer and coordinators mediate, with a full record."""
