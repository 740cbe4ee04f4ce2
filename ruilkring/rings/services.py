"""Writes for rings, gemeenten and their wijken, done by platform admins."""

import re
import unicodedata

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.auth import services as auth_services
from ruilkring.auth.models import User
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger.services import account_open
from ruilkring.listings.services import categories_create_defaults
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.notifications.services import mail_queue
from ruilkring.rings.models import Municipality, Neighbourhood, Ring


def slugify(text: str) -> str:
    """``Ruilkring Utrecht-Oost`` -> ``ruilkring-utrecht-oost``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def municipality_get_or_create(*, name: str) -> Municipality:
    name = name.strip()
    municipality = db.session.scalar(select(Municipality).where(Municipality.name == name))
    if municipality is None:
        municipality = Municipality(name=name)
        db.session.add(municipality)
        db.session.flush()
    return municipality


def neighbourhoods_for(*, municipality: Municipality, names: list[str]) -> list[Neighbourhood]:
    """The gemeente's wijken with these names, creating the ones it does not have yet."""
    existing = {n.name.lower(): n for n in municipality.neighbourhoods}
    result = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        neighbourhood = existing.get(name.lower())
        if neighbourhood is None:
            neighbourhood = Neighbourhood(municipality=municipality, name=name)
            db.session.add(neighbourhood)
            existing[name.lower()] = neighbourhood
        result.append(neighbourhood)
    return result


def _check_limits(min_balance: int, max_balance: int) -> None:
    if min_balance > 0:
        raise DomainError(_l("De ondergrens moet 0 of lager zijn."), field="default_min_balance")
    if max_balance < 0:
        raise DomainError(_l("De bovengrens moet 0 of hoger zijn."), field="default_max_balance")


def ring_create(
    *, created_by: User, name: str, municipality_name: str, neighbourhood_names: list[str],
    currency_name: str, default_min_balance: int, default_max_balance: int,
    description: str = "", house_rules: str = "", slug: str | None = None,
) -> Ring:
    """Start a new ring in a gemeente with its wijken and default limits (minutes)."""
    _check_limits(default_min_balance, default_max_balance)
    slug = slugify(slug or name)
    if not slug:
        raise DomainError(_l("Kies een naam met letters of cijfers."), field="name")
    if db.session.scalar(select(Ring.id).where(Ring.slug == slug)) is not None:
        raise DomainError(_l("Er bestaat al een kring met deze naam."), field="name")
    neighbourhood_names = [n for n in neighbourhood_names if n.strip()]
    if not neighbourhood_names:
        raise DomainError(_l("Noem minstens één wijk."), field="neighbourhoods")
    municipality = municipality_get_or_create(name=municipality_name)
    ring = Ring(
        slug=slug, name=name.strip(), municipality=municipality, currency_name=currency_name.strip(),
        default_min_balance=default_min_balance, default_max_balance=default_max_balance,
        description=description.strip(), house_rules=house_rules.strip(),
        neighbourhoods=neighbourhoods_for(municipality=municipality, names=neighbourhood_names),
    )
    db.session.add(ring)
    db.session.flush()
    categories_create_defaults(ring=ring)
    audit_record(actor=created_by, action="ring.create", ring=ring, new={"name": ring.name, "slug": slug})
    return ring


def ring_update(
    *, ring: Ring, updated_by: User, name: str, neighbourhood_names: list[str], currency_name: str,
    default_min_balance: int, default_max_balance: int, description: str, house_rules: str,
    dispute_days: int | None = None, payment_request_days: int | None = None,
) -> None:
    """Change a ring's settings. Changed house rules get a new version that members re-accept."""
    _check_limits(default_min_balance, default_max_balance)
    for field, days in (("dispute_days", dispute_days), ("payment_request_days", payment_request_days)):
        if days is not None and not 1 <= days <= 365:
            raise DomainError(_l("Kies een aantal dagen tussen 1 en 365."), field=field)
    neighbourhoods = neighbourhoods_for(municipality=ring.municipality, names=neighbourhood_names)
    if not neighbourhoods:
        raise DomainError(_l("Noem minstens één wijk."), field="neighbourhoods")
    old = _ring_settings(ring)
    ring.name = name.strip()
    ring.neighbourhoods = neighbourhoods
    ring.currency_name = currency_name.strip()
    ring.default_min_balance = default_min_balance
    ring.default_max_balance = default_max_balance
    ring.description = description.strip()
    if dispute_days is not None:
        ring.dispute_days = dispute_days
    if payment_request_days is not None:
        ring.payment_request_days = payment_request_days
    if house_rules.strip() != ring.house_rules:
        ring.house_rules = house_rules.strip()
        ring.house_rules_version += 1
    new = _ring_settings(ring)
    if new != old:
        audit_record(actor=updated_by, action="ring.update", ring=ring, old=old, new=new)


def _ring_settings(ring: Ring) -> dict:
    return {
        "name": ring.name,
        "neighbourhoods": [n.name for n in ring.neighbourhoods],
        "currency_name": ring.currency_name,
        "default_min_balance": ring.default_min_balance,
        "default_max_balance": ring.default_max_balance,
        "house_rules_version": ring.house_rules_version,
        "dispute_days": ring.dispute_days,
        "payment_request_days": ring.payment_request_days,
    }


def _invite_or_get_user(*, email: str, name: str) -> tuple[User, bool]:
    """The user with this e-mail, or a new one without a password (who gets an invitation)."""
    user = auth_services.user_by_email(email)
    if user is not None:
        return user, False
    if not name.strip():
        raise DomainError(_l("Vul de naam in van deze nieuwe persoon."), field="name")
    user = User(email=auth_services.normalise_email(email), name=name.strip())
    db.session.add(user)
    db.session.flush()
    return user, True


def _mail_invitation(user: User, subject, template: str, **context) -> None:
    token = auth_services.password_token_create(user=user, purpose="invite")
    mail_queue(user=user, subject=subject, template=template,
               link=url_for("auth.password_reset", purpose="invite", token=token, _external=True),
               **context)


def coordinator_appoint(*, ring: Ring, email: str, name: str, appointed_by: User) -> Member:
    """Make the person with ``email`` a coordinator of ``ring``. A person without an account
    gets one and an invitation link to choose a password."""
    user, is_new = _invite_or_get_user(email=email, name=name)
    if user.erased_at is not None:
        raise DomainError(_l("Dit account is gewist en kan niet worden gebruikt."), field="email")
    member = db.session.scalar(select(Member).where(Member.ring_id == ring.id, Member.user_id == user.id))
    if member is None:
        member = Member(ring_id=ring.id, user_id=user.id, neighbourhood_id=None)
        db.session.add(member)
    if member.role == MemberRole.COORDINATOR and member.status == MemberStatus.ACTIVE:
        raise DomainError(_l("Deze persoon is al coördinator van deze kring."), field="email")
    old = {"role": member.role.value if member.role else None,
           "status": member.status.value if member.status else None}
    member.role = MemberRole.COORDINATOR
    if member.status != MemberStatus.ACTIVE:
        member.status = MemberStatus.ACTIVE
        member.status_changed_at = clock.now()
        member.approved_at = clock.now()
        member.approved_by_id = appointed_by.id
    member.house_rules_accepted_version = ring.house_rules_version
    db.session.flush()
    account_open(member=member)
    audit_record(actor=appointed_by, action="member.appoint_coordinator", subject=member, old=old,
                 new={"role": "coordinator", "status": "active"})
    if is_new:
        _mail_invitation(user, _l("U bent coördinator van %(ring)s", ring=ring.name),
                         "invite_coordinator", ring=ring)
    else:
        mail_queue(user=user, subject=_l("U bent coördinator van %(ring)s", ring=ring.name),
                   template="coordinator_appointed", ring=ring,
                   link=url_for("members.home", ring_slug=ring.slug, _external=True))
    return member


def municipality_viewer_add(*, municipality: Municipality, email: str, name: str, added_by: User) -> User:
    """Give a person read-only access to ``municipality``'s figures (they never see a person)."""
    user, is_new = _invite_or_get_user(email=email, name=name)
    if user.erased_at is not None:
        raise DomainError(_l("Dit account is gewist en kan niet worden gebruikt."), field="email")
    if user.memberships:
        raise DomainError(
            _l("Dit adres hoort bij een lid van een kring. Gebruik een apart adres voor de gemeente."),
            field="email",
        )
    user.municipality_id = municipality.id
    audit_record(actor=added_by, action="municipality.add_viewer",
                 new={"user": user.id, "municipality": municipality.name})
    if is_new:
        _mail_invitation(user, _l("Uw toegang tot de cijfers van %(name)s", name=municipality.name),
                         "invite_municipality", municipality=municipality)
    return user
