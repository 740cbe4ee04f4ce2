"""Notifications in the app and by mail.

Services call these while they work; mail is held on the database session and sent only
when the request's single commit succeeds, so a rolled-back action never sends mail.
"""

import logging

from flask import current_app, render_template
from flask_babel import force_locale
from flask_mailman import EmailMessage
from sqlalchemy import event
from sqlalchemy.orm import Session

from ruilkring.extensions import db
from ruilkring.notifications.models import Notification

log = logging.getLogger(__name__)
_PENDING_KEY = "ruilkring_outgoing_mail"


def notification_create(*, user, text, link: str = "", ring=None) -> Notification:
    """Show ``text`` (a lazy string, rendered in the user's language) to ``user`` in the app."""
    with force_locale(user.locale):
        notification = Notification(
            user_id=user.id, ring_id=ring.id if ring else None, text=str(text), link=link
        )
    db.session.add(notification)
    return notification


def mail_queue(*, user, subject, template: str, **context) -> None:
    """Queue a mail to ``user``, rendered from ``templates/mail/<template>.txt`` in their
    language; it is sent after the next successful commit."""
    if user.erased_at is not None:
        return
    with force_locale(user.locale):
        message = EmailMessage(
            subject=str(subject),
            body=render_template(f"mail/{template}.txt", user=user, **context),
            to=[user.email],
        )
    db.session.info.setdefault(_PENDING_KEY, []).append(message)


@event.listens_for(Session, "after_commit")
def _send_queued_mail(session: Session) -> None:
    messages = session.info.pop(_PENDING_KEY, [])
    for message in messages:
        try:
            message.send()
        except Exception:  # the data is committed; a mail server hiccup must not undo that
            log.exception("could not send mail to %s", message.to)
            if current_app.testing:
                raise


@event.listens_for(Session, "after_rollback")
def _drop_queued_mail(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
