"""Writes for listings and the ring's categories. Nothing here commits."""

from datetime import date, timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.auth.services import _ClockSigner
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.listings.models import (
    Category,
    HelpKind,
    Listing,
    ListingKind,
    ListingPlace,
    ListingStatus,
)
from ruilkring.members.models import ACCESS_STATUSES, Member
from ruilkring.notifications.services import mail_queue, notification_create
from ruilkring.rings.models import Ring

VALIDITY_DAYS = 91  # about three months
REMIND_DAYS_BEFORE_EXPIRY = 7
RENEW_TOKEN_MAX_AGE = 30 * 24 * 60 * 60  # seconds
MAX_VALIDITY_DAYS = 366
MAX_TITLE = 120
MAX_DESCRIPTION = 5000

# (name, kind of help it usually is, care or health?)
DEFAULT_CATEGORIES = (
    ("Klussen", HelpKind.PRACTICAL, False),
    ("Vervoer", HelpKind.PRACTICAL, False),
    ("Tuin", HelpKind.PRACTICAL, False),
    ("Computerhulp", HelpKind.INFORMATIVE, False),
    ("Gezelschap", HelpKind.SOCIAL_EMOTIONAL, False),
    ("Taal", HelpKind.INFORMATIVE, False),
    ("Administratie", HelpKind.INFORMATIVE, False),
    ("Koken", HelpKind.PRACTICAL, False),
    ("Oppas", HelpKind.PRACTICAL, False),
    ("Huisdieren", HelpKind.PRACTICAL, False),
    ("Boodschappen", HelpKind.PRACTICAL, False),
    ("Naaien en repareren", HelpKind.PRACTICAL, False),
    ("Zorg en gezondheid", HelpKind.SOCIAL_EMOTIONAL, True),
    ("Creatief en muziek", HelpKind.SOCIAL_EMOTIONAL, False),
    ("Overig", HelpKind.PRACTICAL, False),
)


def categories_create_defaults(*, ring: Ring) -> list[Category]:
    """Give a new ring the usual Dutch set of categories (it can change them later)."""
    categories = [
        Category(ring_id=ring.id, name=name, position=index, care=care)
        for index, (name, _help, care) in enumerate(DEFAULT_CATEGORIES)
    ]
    db.session.add_all(categories)
    db.session.flush()
    return categories


def category_create(*, ring: Ring, name: str, care: bool, created_by: User) -> Category:
    """Add a category at the end of the ring's list."""
    name = name.strip()
    if not name:
        raise DomainError(_l("Vul een naam in."), field="name")
    exists = db.session.scalar(select(Category.id).where(
        Category.ring_id == ring.id, func.lower(Category.name) == name.lower()))
    if exists is not None:
        raise DomainError(_l("Deze categorie bestaat al."), field="name")
    position = db.session.scalar(select(func.coalesce(func.max(Category.position), -1))
                                 .where(Category.ring_id == ring.id)) + 1
    category = Category(ring_id=ring.id, name=name, care=care, position=position)
    db.session.add(category)
    db.session.flush()
    audit_record(actor=created_by, action="category.create", ring=ring, new={"name": name, "care": care})
    return category


def category_update(*, category: Category, name: str, care: bool, active: bool, updated_by: User) -> None:
    """Rename a category, mark it as care or health, or retire it (its listings keep it)."""
    name = name.strip()
    if not name:
        raise DomainError(_l("Vul een naam in."), field="name")
    clash = db.session.scalar(select(Category.id).where(
        Category.ring_id == category.ring_id, func.lower(Category.name) == name.lower(),
        Category.id != category.id))
    if clash is not None:
        raise DomainError(_l("Deze categorie bestaat al."), field="name")
    old = {"name": category.name, "care": category.care, "active": category.active}
    category.name, category.care, category.active = name, care, active
    audit_record(actor=updated_by, action="category.update", old=old,
                 new={"name": name, "care": care, "active": active}, ring=db.session.get(Ring, category.ring_id))


def _check_fields(*, ring: Ring, title: str, description: str, category_id: int, valid_until: date | None,
                  time_estimate: int | None) -> Category:
    if not title.strip():
        raise DomainError(_l("Geef uw aanbod of vraag een korte titel."), field="title")
    if len(title.strip()) > MAX_TITLE:
        raise DomainError(_l("De titel is te lang (hoogstens %(n)d tekens).", n=MAX_TITLE), field="title")
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(_l("De beschrijving is te lang (hoogstens %(n)d tekens).", n=MAX_DESCRIPTION),
                          field="description")
    category = db.session.get(Category, category_id) if category_id else None
    if category is None or category.ring_id != ring.id or not category.active:
        raise DomainError(_l("Kies een categorie uit de lijst."), field="category_id")
    today = clock.now().date()
    if valid_until is not None and not (today < valid_until <= today + timedelta(days=MAX_VALIDITY_DAYS)):
        raise DomainError(_l("Kies een datum na vandaag en binnen een jaar."), field="valid_until")
    if time_estimate is not None and not (0 < time_estimate <= 100 * 60):
        raise DomainError(_l("Vul een tijdsduur in tussen 0:01 en 100:00, of laat het leeg."),
                          field="time_estimate")
    return category


def listing_create(
    *, owner: Member, kind: ListingKind, title: str, description: str, category_id: int,
    help_kind: HelpKind, place: ListingPlace, time_estimate: int | None = None,
    valid_until: date | None = None, created_by: User,
) -> Listing:
    """Post an offer or request for ``owner``. A coordinator may post on a member's
    behalf (``created_by`` is then the coordinator, and it is audited)."""
    if owner.status not in ACCESS_STATUSES:
        raise DomainError(_l("Alleen actieve leden kunnen iets aanbieden of vragen."))
    ring = owner.ring
    _check_fields(ring=ring, title=title, description=description, category_id=category_id,
                  valid_until=valid_until, time_estimate=time_estimate)
    now = clock.now()
    listing = Listing(
        ring_id=ring.id, owner_id=owner.id, kind=ListingKind(kind), title=title.strip(),
        description=description.strip(), category_id=category_id, help_kind=HelpKind(help_kind),
        place=ListingPlace(place), time_estimate=time_estimate,
        valid_until=valid_until or now.date() + timedelta(days=VALIDITY_DAYS),
        created_by_id=created_by.id, created_at=now, updated_at=now,
    )
    db.session.add(listing)
    db.session.flush()
    if created_by.id != owner.user_id:
        audit_record(actor=created_by, action="listing.create_on_behalf", subject=owner,
                     new={"listing": listing.id, "title": listing.title})
    return listing


def listing_update(
    *, listing: Listing, title: str, description: str, category_id: int, help_kind: HelpKind,
    place: ListingPlace, time_estimate: int | None, valid_until: date, updated_by: User,
) -> None:
    """Change a listing's text and details."""
    if listing.status == ListingStatus.HIDDEN:
        raise DomainError(_l("Deze advertentie is verborgen door een coördinator en kan niet worden gewijzigd."))
    _check_fields(ring=listing.owner.ring, title=title, description=description, category_id=category_id,
                  valid_until=valid_until, time_estimate=time_estimate)
    listing.title = title.strip()
    listing.description = description.strip()
    listing.category_id = category_id
    listing.help_kind = HelpKind(help_kind)
    listing.place = ListingPlace(place)
    listing.time_estimate = time_estimate
    listing.valid_until = valid_until
    listing.updated_at = clock.now()
    if updated_by.id != listing.owner.user_id:
        audit_record(actor=updated_by, action="listing.update_on_behalf", subject=listing.owner,
                     new={"listing": listing.id})


# Which status changes the owner can make, by (from, to).
OWNER_TRANSITIONS = {
    (ListingStatus.ACTIVE, ListingStatus.PAUSED),
    (ListingStatus.PAUSED, ListingStatus.ACTIVE),
    (ListingStatus.ACTIVE, ListingStatus.CLOSED),
    (ListingStatus.PAUSED, ListingStatus.CLOSED),
}


def listing_set_status(*, listing: Listing, status: ListingStatus, changed_by: User) -> None:
    """Pause, resume or close a listing (the owner, or a coordinator for them)."""
    if (listing.status, status) not in OWNER_TRANSITIONS:
        raise DomainError(_l("Dat kan niet met een advertentie in deze toestand."))
    listing.status = status
    listing.updated_at = clock.now()


def listing_renew(*, listing: Listing, renewed_by: User | None = None) -> None:
    """Make a listing valid for another three months from today (also an expired one)."""
    if listing.status in (ListingStatus.HIDDEN, ListingStatus.CLOSED):
        raise DomainError(_l("Deze advertentie kan niet meer worden verlengd."))
    today = clock.now().date()
    listing.valid_until = today + timedelta(days=VALIDITY_DAYS)
    listing.expiry_reminded_on = None
    listing.updated_at = clock.now()


def listing_hide(*, listing: Listing, hidden_by: User, reason: str) -> None:
    """A coordinator hides a listing that breaks the house rules; the owner sees why."""
    if not reason.strip():
        raise DomainError(_l("Geef een reden op; de eigenaar krijgt die te zien."), field="reason")
    if listing.status == ListingStatus.HIDDEN:
        raise DomainError(_l("Deze advertentie is al verborgen."))
    old = listing.status
    listing.status = ListingStatus.HIDDEN
    listing.hidden_reason = reason.strip()
    listing.updated_at = clock.now()
    audit_record(actor=hidden_by, action="listing.hide", subject=listing.owner,
                 old={"listing": listing.id, "status": old.value}, new={"status": "hidden"}, reason=reason)
    notification_create(
        user=listing.owner.user, ring=listing.owner.ring,
        text=_l("Een coördinator heeft uw advertentie '%(title)s' verborgen. Reden: %(reason)s",
                title=listing.title, reason=listing.hidden_reason),
        link=url_for("listings.detail", ring_slug=listing.owner.ring.slug, listing_id=listing.id),
    )


def listing_unhide(*, listing: Listing, unhidden_by: User) -> None:
    """A coordinator shows a hidden listing again (as paused, for the owner to check)."""
    if listing.status != ListingStatus.HIDDEN:
        raise DomainError(_l("Deze advertentie is niet verborgen."))
    listing.status = ListingStatus.PAUSED
    audit_record(actor=unhidden_by, action="listing.unhide", subject=listing.owner,
                 old={"listing": listing.id, "status": "hidden"}, new={"status": "paused"})


# Expiry reminders with a one-click renew link. The token names the listing and the expiry
# date it was mailed about: it works for that listing only, and only once, since renewing
# (or changing the date by hand) moves ``valid_until``.

def _renew_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="listing-renew", signer=_ClockSigner)


def listing_renew_token_create(*, listing: Listing) -> str:
    """A signed token that renews ``listing`` without logging in, valid for 30 days."""
    return _renew_serializer().dumps({"listing": listing.id, "until": listing.valid_until.isoformat()})


def listing_by_renew_token(*, token: str, listing_id: int) -> Listing:
    """The listing a valid renew token is for; DomainError when the token expired, is for
    another listing, was used already, or the listing can no longer be renewed."""
    try:
        data = _renew_serializer().loads(token, max_age=RENEW_TOKEN_MAX_AGE)
    except SignatureExpired:
        raise DomainError(_l("Deze link is verlopen. Log in om uw advertentie te verlengen.")) from None
    except BadSignature:
        raise DomainError(_l("Deze link is ongeldig. Log in om uw advertentie te verlengen.")) from None
    if not isinstance(data, dict) or data.get("listing") != listing_id:
        raise DomainError(_l("Deze link is ongeldig. Log in om uw advertentie te verlengen."))
    listing = db.session.get(Listing, listing_id)
    if (listing is None or listing.status not in (ListingStatus.ACTIVE, ListingStatus.PAUSED)
            or listing.owner.status not in ACCESS_STATUSES):
        raise DomainError(_l("Deze advertentie kan niet meer worden verlengd."))
    if data.get("until") != listing.valid_until.isoformat():
        raise DomainError(_l("Deze link is al gebruikt: de advertentie loopt nu tot en met %(date)s.",
                             date=listing.valid_until.strftime("%d-%m-%Y")), code="used")
    return listing


def listing_expiry_remind(*, listing: Listing, today: date) -> bool:
    """Mail the owner that ``listing`` expires soon, with a one-click renew link, and mark
    it reminded. False (and nothing sent) when it was reminded already or its owner no
    longer takes part in the ring."""
    if listing.expiry_reminded_on is not None or listing.status != ListingStatus.ACTIVE:
        return False
    owner = listing.owner
    if owner.status not in ACCESS_STATUSES:
        return False
    ring = owner.ring
    mail_queue(
        user=owner.user, subject=_l("Uw advertentie '%(title)s' verloopt binnenkort", title=listing.title),
        template="listing_expiring", listing=listing, ring=ring,
        renew_link=url_for("listings.renew_by_token", ring_slug=ring.slug, listing_id=listing.id,
                           token=listing_renew_token_create(listing=listing), _external=True),
        listing_link=url_for("listings.detail", ring_slug=ring.slug, listing_id=listing.id, _external=True),
    )
    listing.expiry_reminded_on = today
    return True
