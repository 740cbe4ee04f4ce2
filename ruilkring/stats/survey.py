"""The optional yearly survey (DESIGN section 5): three short questions about belonging,
new people met through the ring, and whether help is there when it is needed.

A coordinator opens it for a period; members answer once while it is open. That a member
answered (``SurveyParticipation``) and what they answered (``SurveyResponse``, which has
no member) are kept apart, and the answers are only ever shown aggregated, and only when
at least ``MIN_RESPONSES`` people answered.
"""

import secrets
from dataclasses import dataclass
from datetime import date

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.members.models import Member
from ruilkring.rings.models import Ring
from ruilkring.stats.models import Survey, SurveyParticipation, SurveyResponse

BELONGING_SCALE = (1, 2, 3, 4, 5)
NEW_PEOPLE_CHOICES = ("0", "1-2", "3-5", "6+")
HELP_CHOICES = ("yes", "no", "unknown")
MIN_RESPONSES = 5
MAX_DAYS_OPEN = 366


def _today() -> date:
    return clock.now().date()


def _coordinates(user: User, ring: Ring) -> bool:
    membership = db.session.scalar(select(Member).where(Member.ring_id == ring.id, Member.user_id == user.id))
    return membership is not None and membership.is_coordinator


def survey_open(*, ring: Ring, opens_on: date, closes_on: date, opened_by: User) -> Survey:
    """Open the ring's survey from ``opens_on`` up to and including ``closes_on``.

    Only the ring's coordinators (and platform admins) may; the period may not lie in the
    past, and it may not overlap another survey of the ring, so at most one survey is open
    at a time. Audited.
    """
    if not (opened_by.is_admin or _coordinates(opened_by, ring)):
        raise DomainError(_l("Alleen een coördinator van de kring kan een enquête openen."))
    if closes_on < opens_on:
        raise DomainError(_l("De einddatum ligt vóór de begindatum."), field="closes_on")
    if closes_on < _today():
        raise DomainError(_l("De einddatum ligt in het verleden."), field="closes_on")
    if (closes_on - opens_on).days > MAX_DAYS_OPEN:
        raise DomainError(_l("Een enquête kan hoogstens een jaar openstaan."), field="closes_on")
    # Lock the ring's row (PostgreSQL; SQLite serialises writers anyway), so that two
    # coordinators opening a survey at the same moment cannot both pass the overlap check.
    db.session.execute(select(Ring.id).where(Ring.id == ring.id).with_for_update())
    overlapping = db.session.scalar(select(Survey).where(
        Survey.ring_id == ring.id, Survey.opens_on <= closes_on, Survey.closes_on >= opens_on))
    if overlapping is not None:
        raise DomainError(_l("Er is al een enquête in die periode (%(start)s tot en met %(end)s).",
                             start=format_date(overlapping.opens_on, "long"),
                             end=format_date(overlapping.closes_on, "long")), field="opens_on")
    survey = Survey(ring_id=ring.id, opens_on=opens_on, closes_on=closes_on, created_by_id=opened_by.id)
    db.session.add(survey)
    db.session.flush()
    audit_record(actor=opened_by, action="survey.open", ring=ring,
                 new={"survey": survey.id, "opens_on": opens_on.isoformat(), "closes_on": closes_on.isoformat()})
    db.session.flush()
    return survey


def survey_is_open(survey: Survey, today: date | None = None) -> bool:
    today = today or _today()
    return survey.opens_on <= today <= survey.closes_on


def survey_current(*, ring: Ring, today: date | None = None) -> Survey | None:
    """The ring's survey that is open today, if any."""
    today = today or _today()
    return db.session.scalar(select(Survey).where(
        Survey.ring_id == ring.id, Survey.opens_on <= today, Survey.closes_on >= today))


def survey_has_answered(*, survey: Survey, member: Member) -> bool:
    return db.session.scalar(select(SurveyParticipation.id).where(
        SurveyParticipation.survey_id == survey.id, SurveyParticipation.member_id == member.id)) is not None


def survey_waiting_for(*, member: Member) -> Survey | None:
    """The open survey of the member's ring that they have not answered yet."""
    survey = survey_current(ring=member.ring)
    if survey is None or not member.has_access or survey_has_answered(survey=survey, member=member):
        return None
    return survey


def survey_answer(*, survey: Survey, member: Member, belonging: int, new_people: str,
                  help_available: str) -> None:
    """Record one member's answers, once, while the survey is open.

    The participation row says only *that* the member answered; the response row says
    only *what* was answered and has no member. Both are written in the same transaction,
    so their ids (and, on PostgreSQL, their places on disk) would otherwise come in the
    same order and pair each answer with its member. To prevent that, the answers are
    shuffled as they arrive (the "inside-out" Fisher-Yates shuffle): the new answers go
    into a uniformly chosen one of the survey's response rows, new or existing, and the
    answers that were there move to the new row. After every answer the rows hold a
    uniformly random permutation of all answers, so neither the order of ids nor the
    physical order of rows says anything about who answered what, while every aggregate
    stays exactly the same. (Random ids alone would not do: PostgreSQL keeps rows in the
    order they were inserted, whatever their ids.)
    """
    if member.ring_id != survey.ring_id or not member.has_access:
        raise DomainError(_l("Alleen leden van de kring kunnen de enquête invullen."))
    if not survey_is_open(survey):
        raise DomainError(_l("Deze enquête is gesloten."))
    if belonging not in BELONGING_SCALE:
        raise DomainError(_l("Kies een getal van 1 tot en met 5."), field="belonging")
    if new_people not in NEW_PEOPLE_CHOICES:
        raise DomainError(_l("Kies een van de antwoorden."), field="new_people")
    if help_available not in HELP_CHOICES:
        raise DomainError(_l("Kies een van de antwoorden."), field="help_available")
    # Answers of one survey are written one at a time (the survey row is locked on
    # PostgreSQL; SQLite has one writer), so the shuffle below never loses an answer.
    db.session.execute(select(Survey.id).where(Survey.id == survey.id).with_for_update())
    try:
        with db.session.begin_nested():
            db.session.add(SurveyParticipation(survey_id=survey.id, member_id=member.id))
    except IntegrityError:
        raise DomainError(_l("U heeft deze enquête al ingevuld.")) from None

    answers = {"belonging": belonging, "new_people": new_people, "help_available": help_available}
    rows = db.session.scalars(select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id)
                              .order_by(SurveyResponse.id)).all()
    position = secrets.randbelow(len(rows) + 1)
    if position < len(rows):
        swapped = db.session.get(SurveyResponse, rows[position], with_for_update=True)
        moved = {"belonging": swapped.belonging, "new_people": swapped.new_people,
                 "help_available": swapped.help_available}
        for key, value in answers.items():
            setattr(swapped, key, value)
        answers = moved
    db.session.add(SurveyResponse(survey_id=survey.id, **answers))
    db.session.flush()


@dataclass
class SurveyResults:
    """Counts per answer; shares are taken over everyone who answered."""

    responses: int
    belonging: dict[int, int]
    new_people: dict[str, int]
    help_available: dict[str, int]

    @property
    def belonging_mean(self) -> float:
        return sum(score * n for score, n in self.belonging.items()) / self.responses

    def share(self, count: int) -> float:
        return count / self.responses


def survey_response_count(*, survey: Survey) -> int:
    return db.session.scalar(select(func.count()).select_from(SurveyResponse)
                             .where(SurveyResponse.survey_id == survey.id)) or 0


def survey_results(*, survey: Survey) -> SurveyResults | None:
    """The answers counted per question, or None while fewer than five people answered
    (a handful of answers could be traced back to the people who gave them)."""
    total = survey_response_count(survey=survey)
    if total < MIN_RESPONSES:
        return None

    def counts(column, choices):
        found = dict(db.session.execute(select(column, func.count()).where(SurveyResponse.survey_id == survey.id)
                                        .group_by(column)).all())
        return {choice: found.get(choice, 0) for choice in choices}

    return SurveyResults(total, counts(SurveyResponse.belonging, BELONGING_SCALE),
                         counts(SurveyResponse.new_people, NEW_PEOPLE_CHOICES),
                         counts(SurveyResponse.help_available, HELP_CHOICES))


def surveys_of(*, ring: Ring) -> list[Survey]:
    """The ring's surveys, newest first."""
    return db.session.scalars(select(Survey).where(Survey.ring_id == ring.id)
                              .order_by(Survey.opens_on.desc(), Survey.id.desc())).all()
