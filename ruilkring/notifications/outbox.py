"""Reading the development outbox that Flask-Mailman's file backend writes."""

import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

SEPARATOR = b"\n" + b"-" * 79 + b"\n"


def outbox_messages(folder: str | Path) -> list[EmailMessage]:
    """All mails in the outbox, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    messages = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=default))
    messages.reverse()
    return messages
