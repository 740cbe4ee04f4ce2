"""The front page, language choice, notifications and the development outbox."""
