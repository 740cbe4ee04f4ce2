"""Member pages of a ring: sign-up, start page, directory, profiles, member admin."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ruilkring.access import (
    coordinator_required,
    is_ring_coordinator,
    public,
    ring_blueprint,
    ring_member_or_404,
)
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger import selectors as ledger_selectors
from ruilkring.ledger.services import account_open
from ruilkring.listings import selectors as listing_selectors
from ruilkring.members import selectors, services
from ruilkring.members.forms import (
    EraseForm,
    JoinForm,
    MemberFilterForm,
    ProfileForm,
    ReasonForm,
    SignupForm,
)
from ruilkring.members.models import Member, MemberStatus
from ruilkring.stats.survey import survey_waiting_for
from ruilkring.stats.ties import unanswered_ties
from ruilkring.web import htmx_targets, page_or_fragment

bp = ring_blueprint("members", __name__)


@bp.route("/aanmelden", methods=["GET", "POST"])
@public
def signup():
    """Sign up for the ring, as a new person or with one's existing account."""
    if g.member is not None:
        flash(_l("U bent al aangemeld bij deze kring."), "info")
        return redirect(url_for("main.home"))
    signed_in = current_user.is_authenticated
    form = JoinForm() if signed_in else SignupForm()
    form.set_neighbourhoods(g.ring)
    if form.validate_on_submit():
        data = form.data
        try:
            services.member_signup(
                ring=g.ring,
                user=current_user if signed_in else None,
                **{key: data[key] for key in ("name", "email", "password", "phone", "address") if key in data},
                neighbourhood_id=data["neighbourhood_id"],
                birth_year=data["birth_year"],
                share_email=data["share_email"],
                share_phone=data["share_phone"],
                share_address=data["share_address"],
                accepted_house_rules=data["accept_rules"],
            )
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            return render_template("members/signup_done.html")
    return render_template("members/signup.html", form=form, signed_in=signed_in)


@bp.route("/start")
def home():
    """The member's start page in this ring."""
    if g.member is None:  # an admin visiting
        return redirect(url_for("rings.public_page"))
    pending = None
    if is_ring_coordinator():
        pending = selectors.status_counts(ring=g.ring).get(MemberStatus.PENDING, 0)
    account = account_open(member=g.member)
    db.session.commit()  # only writes when an old member had no account yet
    incoming, _outgoing = ledger_selectors.pending_requests_for(member=g.member)
    contact_ties = unanswered_ties(member=g.member)
    partners = {m.id: m for m in db.session.scalars(db.select(Member).where(Member.id.in_(
        [t.member_low_id if t.member_high_id == g.member.id else t.member_high_id for t in contact_ties])))}
    return render_template("members/home.html", pending=pending, account=account,
                           limit=ledger_selectors.limit_status(account), incoming=incoming,
                           contact_ties=contact_ties, partners=partners,
                           survey=survey_waiting_for(member=g.member))


@bp.route("/leden")
def directory():
    """Everyone in the ring another member may find."""
    return render_template("members/directory.html", members=selectors.member_directory(ring=g.ring))


@bp.route("/leden/<int:member_id>")
def profile(member_id: int):
    """A member's page: what they chose to share (coordinators see everything)."""
    member = ring_member_or_404(member_id)
    coordinator = is_ring_coordinator()
    if not coordinator and not member.has_access:
        abort(404)
    contact = selectors.visible_contact(member=member, viewer_is_coordinator=coordinator)
    return render_template(
        "members/profile.html", member=member, contact=contact, coordinator=coordinator,
        listings=listing_selectors.member_listings(member=member),
        trades=listing_selectors.member_trade_count(member=member),
    )


@bp.route("/profiel", methods=["GET", "POST"])
def profile_edit():
    """Edit one's own profile in this ring."""
    if g.member is None:
        abort(404)
    form = ProfileForm(obj=g.member, digest=not g.member.digest_opt_out)
    form.set_neighbourhoods(g.ring)
    if form.validate_on_submit():
        try:
            services.member_update_profile(
                member=g.member, bio=form.bio.data, neighbourhood_id=form.neighbourhood_id.data,
                birth_year=form.birth_year.data, share_email=form.share_email.data,
                share_phone=form.share_phone.data, share_address=form.share_address.data,
                digest_opt_out=not form.digest.data,
            )
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("Uw profiel is opgeslagen."), "success")
            return redirect(url_for("members.profile", member_id=g.member.id))
    return render_template("members/profile_edit.html", form=form)


# Coordinator: member administration.

@bp.route("/beheer/leden")
@coordinator_required
def admin_list():
    """All members with their status; pending sign-ups first. htmx swaps just the table."""
    form = MemberFilterForm(request.args)
    form.status.choices = [("", _l("Alle statussen"))] + [(s.value, status_label(s)) for s in MemberStatus]
    form.wijk.choices = [("", _l("Alle wijken"))] + [(n.id, n.name) for n in g.ring.neighbourhoods]
    valid = form.validate()
    rows = selectors.member_admin_list(
        ring=g.ring, status=(form.status.data or None) if valid else None, q=form.q.data,
        neighbourhood_id=form.wijk.data if valid else None, never_traded=bool(form.never_traded.data),
        at_limit=bool(form.at_limit.data),
    )
    return page_or_fragment(
        "members/admin_list.html", "members/_admin_table.html", "member-table",
        form=form, rows=rows, counts=selectors.status_counts(ring=g.ring), reason_form=ReasonForm(),
    )


# URL action -> (service, its actor argument, its audit action, message when done)
ACTIONS = {
    "approve": (services.member_approve, "approved_by", "member.approve",
                _l("%(name)s is toegelaten.")),
    "decline": (services.member_decline, "declined_by", "member.decline",
                _l("De aanmelding van %(name)s is afgewezen.")),
    "deactivate": (services.member_deactivate, "deactivated_by", "member.deactivate",
                   _l("%(name)s is op inactief gezet.")),
    "reactivate": (services.member_reactivate, "reactivated_by", "member.reactivate",
                   _l("%(name)s is weer actief.")),
    "leaving": (services.member_mark_leaving, "marked_by", "member.mark_leaving",
                _l("%(name)s is gemarkeerd als vertrekkend.")),
    "left": (services.member_mark_left, "marked_by", "member.mark_left",
             _l("%(name)s is uitgeschreven.")),
}
ACTION_LABELS = {
    "approve": _l("Toelaten"),
    "decline": _l("Afwijzen"),
    "deactivate": _l("Op inactief zetten"),
    "reactivate": _l("Weer actief maken"),
    "leaving": _l("Markeren als vertrekkend"),
    "left": _l("Uitschrijven"),
}


def available_actions(member) -> list[tuple[str, str]]:
    """The status actions a coordinator can take on ``member`` now, as (action, label)."""
    possible = {audit for (source, _), audit in services.TRANSITIONS.items() if source == member.status}
    return [(action, ACTION_LABELS[action]) for action, (_, _, audit, _) in ACTIONS.items()
            if audit in possible]


@bp.post("/beheer/leden/<int:member_id>/<action>")
@coordinator_required
def admin_action(member_id: int, action: str):
    """Change a member's status. htmx replaces the member's row; without it, back to the list."""
    if action not in ACTIONS:
        abort(404)
    member = ring_member_or_404(member_id)
    service, actor_argument, _audit, done = ACTIONS[action]
    form = ReasonForm()
    error = None
    if form.validate_on_submit():
        kwargs = {"member": member, actor_argument: current_user}
        if action != "approve":
            kwargs["reason"] = form.reason.data or ""
        try:
            service(**kwargs)
        except DomainError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
    else:
        error = _l("De reden is te lang (hoogstens 500 tekens).")
    message = error or done % {"name": member.name}
    if htmx_targets(f"member-{member.id}"):
        [row] = selectors.member_admin_list(ring=g.ring, member_id=member.id)
        return render_template("members/_admin_row.html", row=row, member=member, message=message,
                               error=bool(error), reason_form=ReasonForm())
    flash(message, "error" if error else "success")
    return redirect(request.referrer or url_for("members.admin_list"))


@bp.post("/beheer/leden/<int:member_id>/wachtwoord-link")
@coordinator_required
def admin_password_link(member_id: int):
    """Mail the member a link to choose a new password."""
    member = ring_member_or_404(member_id)
    try:
        services.member_send_password_link(member=member, sent_by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("%(name)s krijgt een e-mail met een link om een nieuw wachtwoord te kiezen.",
                 name=member.name), "success")
    return redirect(request.referrer or url_for("members.admin_list"))


@bp.route("/beheer/leden/<int:member_id>/wissen", methods=["GET", "POST"])
@coordinator_required
def admin_erase(member_id: int):
    """Erase a member's personal data on request, after an explicit confirmation."""
    member = ring_member_or_404(member_id)
    form = EraseForm()
    if form.validate_on_submit():
        try:
            services.member_erase(member=member, erased_by=current_user, reason=form.reason.data)
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("De persoonsgegevens zijn gewist. De geschiedenis blijft bewaard onder de naam %(name)s.",
                     name=member.name), "success")
            return redirect(url_for("members.admin_list"))
    return render_template("members/admin_erase.html", form=form, member=member)


STATUS_LABELS = {
    MemberStatus.PENDING: _l("wacht op goedkeuring"),
    MemberStatus.DECLINED: _l("afgewezen"),
    MemberStatus.ACTIVE: _l("actief"),
    MemberStatus.INACTIVE: _l("inactief"),
    MemberStatus.LEAVING: _l("vertrekt"),
    MemberStatus.LEFT: _l("vertrokken"),
}


def status_label(status: MemberStatus):
    return STATUS_LABELS[status]


@bp.app_context_processor
def member_labels():
    return {"status_label": status_label, "available_actions": available_actions}
