"""Writes for memberships: sign-up, the coordinator's status changes, profile, erasure.

Every function flushes but never commits; the view commits once.
"""

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
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.notifications.services import mail_queue, notification_create
from ruilkring.rings.models import Ring

# Which status changes a coordinator may make: (from, to) -> audit action.
TRANSITIONS = {
    (MemberStatus.PENDING, MemberStatus.ACTIVE): "member.approve",
    (MemberStatus.PENDING, MemberStatus.DECLINED): "member.decline",
    (MemberStatus.ACTIVE, MemberStatus.INACTIVE): "member.deactivate",
    (MemberStatus.LEAVING, MemberStatus.INACTIVE): "member.deactivate",
    (MemberStatus.INACTIVE, MemberStatus.ACTIVE): "member.reactivate",
    (MemberStatus.ACTIVE, MemberStatus.LEAVING): "member.mark_leaving",
    (MemberStatus.LEAVING, MemberStatus.ACTIVE): "member.reactivate",
    (MemberStatus.LEAVING, MemberStatus.LEFT): "member.mark_left",
}


def _check_neighbourhood(ring: Ring, neighbourhood_id: int | None) -> None:
    if neighbourhood_id is not None and neighbourhood_id not in {n.id for n in ring.neighbourhoods}:
        raise DomainError(_l("Kies een wijk uit de lijst van deze kring."), field="neighbourhood_id")


def _check_birth_year(birth_year: int | None) -> None:
    this_year = clock.now().year
    if birth_year is not None and not (this_year - 110 <= birth_year <= this_year - 12):
        raise DomainError(
            _l("Vul een geboortejaar in tussen %(low)d en %(high)d, of laat het leeg.",
               low=this_year - 110, high=this_year - 12),
            field="birth_year",
        )


def member_signup(
    *,
    ring: Ring,
    user: User | None,
    name: str = "",
    email: str = "",
    password: str = "",
    neighbourhood_id: int | None,
    birth_year: int | None,
    share_email: bool,
    share_phone: bool,
    share_address: bool,
    phone: str = "",
    address: str = "",
    accepted_house_rules: bool,
) -> Member:
    """Ask to join ``ring``. A new person gives name, e-mail and password; a signed-in
    ``user`` joins with their existing account. The membership is pending until a
    coordinator approves it; the coordinators are notified."""
    if not accepted_house_rules:
        raise DomainError(_l("U moet de huisregels accepteren om lid te worden."), field="accept_rules")
    _check_neighbourhood(ring, neighbourhood_id)
    _check_birth_year(birth_year)

    if user is None:
        email = auth_services.normalise_email(email)
        existing = auth_services.user_by_email(email)
        if existing is not None:
            if _membership(ring, existing) is not None:
                raise DomainError(_l("Dit e-mailadres is al aangemeld bij deze kring."), field="email")
            raise DomainError(
                _l("Er is al een account met dit e-mailadres. Log eerst in; daarna kunt u zich "
                   "bij deze kring aanmelden."),
                field="email",
            )
        user = User(email=email, name=name.strip(), phone=phone.strip(), address=address.strip())
        auth_services.password_set(user=user, password=password)
        db.session.add(user)
        db.session.flush()
    elif _membership(ring, user) is not None:
        raise DomainError(_l("U bent al aangemeld bij deze kring."))

    member = Member(
        ring_id=ring.id,
        user_id=user.id,
        status=MemberStatus.PENDING,
        neighbourhood_id=neighbourhood_id,
        birth_year=birth_year,
        share_email=share_email,
        share_phone=share_phone,
        share_address=share_address,
        house_rules_accepted_version=ring.house_rules_version,
    )
    db.session.add(member)
    db.session.flush()
    for coordinator in ring_coordinators(ring):
        notification_create(
            user=coordinator.user,
            ring=ring,
            text=_l("%(name)s heeft zich aangemeld en wacht op goedkeuring.", name=user.name),
            link=url_for("members.admin_list", ring_slug=ring.slug, status="pending"),
        )
    return member


def _membership(ring: Ring, user: User) -> Member | None:
    return db.session.scalar(
        select(Member).where(Member.ring_id == ring.id, Member.user_id == user.id)
    )


def ring_coordinators(ring: Ring) -> list[Member]:
    return list(db.session.scalars(
        select(Member).where(
            Member.ring_id == ring.id,
            Member.role == MemberRole.COORDINATOR,
            Member.status == MemberStatus.ACTIVE,
        )
    ))


def _transition(*, member: Member, to: MemberStatus, actor: User, reason: str = "") -> None:
    action = TRANSITIONS.get((member.status, to))
    if action is None:
        raise DomainError(_l("Deze wijziging kan niet bij een lid met deze status."))
    old = member.status
    member.status = to
    member.status_changed_at = clock.now()
    audit_record(actor=actor, action=action, subject=member,
                 old={"status": old.value}, new={"status": to.value}, reason=reason)


def member_approve(*, member: Member, approved_by: User) -> None:
    """Admit a pending member; they are told by mail."""
    _transition(member=member, to=MemberStatus.ACTIVE, actor=approved_by)
    account_open(member=member)
    member.approved_at = clock.now()
    member.approved_by_id = approved_by.id
    mail_queue(
        user=member.user,
        subject=_l("Welkom bij %(ring)s", ring=member.ring.name),
        template="member_approved",
        ring=member.ring,
        link=url_for("members.home", ring_slug=member.ring.slug, _external=True),
    )


def member_decline(*, member: Member, declined_by: User, reason: str = "") -> None:
    """Refuse a pending sign-up; the person is told by mail, with the reason if given."""
    _transition(member=member, to=MemberStatus.DECLINED, actor=declined_by, reason=reason)
    mail_queue(
        user=member.user,
        subject=_l("Uw aanmelding bij %(ring)s", ring=member.ring.name),
        template="member_declined",
        ring=member.ring,
        reason=reason,
    )


def member_deactivate(*, member: Member, deactivated_by: User, reason: str = "") -> None:
    """Pause a membership: the member can no longer use the ring's pages."""
    _transition(member=member, to=MemberStatus.INACTIVE, actor=deactivated_by, reason=reason)


def member_reactivate(*, member: Member, reactivated_by: User, reason: str = "") -> None:
    """Make an inactive or leaving member active again."""
    _transition(member=member, to=MemberStatus.ACTIVE, actor=reactivated_by, reason=reason)


def member_mark_leaving(*, member: Member, marked_by: User, reason: str = "") -> None:
    """The member is leaving: from now on they may only trade towards a zero balance."""
    _transition(member=member, to=MemberStatus.LEAVING, actor=marked_by, reason=reason)


def member_mark_left(*, member: Member, marked_by: User, reason: str = "") -> None:
    """Close a leaving membership. History stays."""
    _transition(member=member, to=MemberStatus.LEFT, actor=marked_by, reason=reason)


def member_set_role(*, member: Member, role: MemberRole, set_by: User) -> None:
    """Make a member coordinator, or a coordinator an ordinary member again."""
    if member.role == role:
        return
    audit_record(actor=set_by, action="member.set_role", subject=member,
                 old={"role": member.role.value}, new={"role": role.value})
    member.role = role


def member_update_profile(
    *, member: Member, bio: str, neighbourhood_id: int | None, birth_year: int | None,
    share_email: bool, share_phone: bool, share_address: bool, digest_opt_out: bool,
) -> None:
    """The member's own ring profile: text, wijk, birth year, what others may see, and
    whether they want the weekly digest of new listings."""
    _check_neighbourhood(member.ring, neighbourhood_id)
    _check_birth_year(birth_year)
    member.bio = bio.strip()
    member.neighbourhood_id = neighbourhood_id
    member.birth_year = birth_year
    member.share_email = share_email
    member.share_phone = share_phone
    member.share_address = share_address
    member.digest_opt_out = digest_opt_out


def member_accept_house_rules(*, member: Member) -> None:
    """Record that the member accepted the ring's current house rules."""
    member.house_rules_accepted_version = member.ring.house_rules_version


def member_erase(*, member: Member, erased_by: User, reason: str) -> None:
    """Erase the person's personal data on request (AVG), keeping the history.

    Name, e-mail, phone, address, birth year and profile text are replaced or cleared on
    the account and every membership; the ledger and audit history keep the rows under
    a pseudonym ("Oud-lid 123"). Every membership ends as *left*. Cannot be undone.
    """
    if not reason.strip():
        raise DomainError(_l("Geef een reden op, bijvoorbeeld 'verzoek van het lid'."), field="reason")
    user = member.user
    if user.erased_at is not None:
        raise DomainError(_l("De gegevens van dit lid zijn al gewist."))
    if user.is_admin:
        raise DomainError(_l("Een beheerder kan niet worden gewist."))
    audit_record(actor=erased_by, action="member.erase", subject=member,
                 old={"status": member.status.value}, new={"status": MemberStatus.LEFT.value},
                 reason=reason)
    user.name = f"Oud-lid {user.id}"
    user.email = f"gewist-{user.id}@invalid"
    user.phone = ""
    user.address = ""
    user.password_hash = None
    user.municipality_id = None
    user.erased_at = clock.now()
    for membership in user.memberships:
        membership.bio = ""
        membership.birth_year = None
        membership.share_email = membership.share_phone = membership.share_address = False
        membership.role = MemberRole.MEMBER
        if membership.status != MemberStatus.LEFT:
            membership.status = MemberStatus.LEFT
            membership.status_changed_at = clock.now()


def member_send_password_link(*, member: Member, sent_by: User) -> None:
    """A coordinator sends a member a link to choose a new password (e.g. after a phone call)."""
    user = member.user
    if user.erased_at is not None:
        raise DomainError(_l("De gegevens van dit lid zijn gewist."))
    token = auth_services.password_token_create(user=user)
    mail_queue(user=user, subject=_l("Nieuw wachtwoord instellen"), template="password_reset",
               link=url_for("auth.password_reset", purpose="reset", token=token, _external=True))
    audit_record(actor=sent_by, action="member.send_password_link", subject=member)
