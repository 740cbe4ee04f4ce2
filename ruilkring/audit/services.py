"""Writing audit events; every coordinator and admin service calls ``audit_record``."""

from ruilkring.audit.models import AuditEvent
from ruilkring.extensions import db


def audit_record(*, actor, action: str, ring=None, subject=None, old=None, new=None,
                 reason: str = "") -> AuditEvent:
    """Append one event. ``actor`` is a User (None for the system, e.g. a cron job)."""
    event = AuditEvent(
        ring_id=ring.id if ring is not None else (subject.ring_id if subject is not None else None),
        actor_id=actor.id if actor is not None else None,
        subject_member_id=subject.id if subject is not None else None,
        action=action,
        old=old,
        new=new,
        reason=reason,
    )
    db.session.add(event)
    return event
