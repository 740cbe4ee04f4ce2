"""Platform admin pages: rings, their coordinators and gemeente viewers."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from ruilkring.access import admin_required
from ruilkring.admin.forms import MunicipalityViewerForm, PersonForm, RingForm
from ruilkring.auth.models import User
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.rings import services
from ruilkring.rings.models import Municipality, Ring

bp = Blueprint("admin", __name__, url_prefix="/beheer")


@bp.before_request
@admin_required
def require_admin():
    """Every page here is for platform admins only."""


@bp.route("/")
def index():
    """All rings with their member counts, and the gemeente viewers."""
    member_counts = dict(db.session.execute(
        select(Member.ring_id, func.count()).where(Member.status.in_((MemberStatus.ACTIVE, MemberStatus.LEAVING)))
        .group_by(Member.ring_id)
    ).all())
    rings = db.session.scalars(select(Ring).order_by(Ring.name)).all()
    viewers = db.session.scalars(
        select(User).where(User.municipality_id.is_not(None)).order_by(User.name)
    ).all()
    return render_template("admin/index.html", rings=rings, member_counts=member_counts, viewers=viewers)


@bp.route("/kringen/nieuw", methods=["GET", "POST"])
def ring_new():
    """Start a new ring."""
    form = RingForm()
    if form.validate_on_submit():
        try:
            ring = services.ring_create(
                created_by=current_user, municipality_name=form.municipality.data, **form.settings()
            )
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("De kring %(name)s is aangemaakt. Benoem nu een coördinator.", name=ring.name), "success")
            return redirect(url_for("admin.ring_edit", ring_id=ring.id))
    return render_template("admin/ring_form.html", form=form, ring=None)


@bp.route("/kringen/<int:ring_id>", methods=["GET", "POST"])
def ring_edit(ring_id: int):
    """Change a ring's settings and see and appoint its coordinators."""
    ring = db.session.get(Ring, ring_id) or abort(404)
    form = RingForm(obj=ring, municipality=ring.municipality.name)
    if not form.is_submitted():
        form.neighbourhoods.data = "\n".join(n.name for n in ring.neighbourhoods)
    form.municipality.render_kw = {"readonly": True}
    if form.validate_on_submit():
        try:
            services.ring_update(ring=ring, updated_by=current_user, **form.settings())
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("De instellingen zijn opgeslagen."), "success")
            return redirect(url_for("admin.ring_edit", ring_id=ring.id))
    coordinators = db.session.scalars(
        select(Member).where(Member.ring_id == ring.id, Member.role == MemberRole.COORDINATOR)
    ).all()
    return render_template("admin/ring_form.html", form=form, ring=ring, coordinators=coordinators,
                           person_form=PersonForm())


@bp.post("/kringen/<int:ring_id>/coordinatoren")
def coordinator_appoint(ring_id: int):
    """Appoint a coordinator by e-mail address."""
    ring = db.session.get(Ring, ring_id) or abort(404)
    form = PersonForm()
    if form.validate_on_submit():
        try:
            member = services.coordinator_appoint(
                ring=ring, email=form.email.data, name=form.name.data or "", appointed_by=current_user
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_l("%(name)s is nu coördinator.", name=member.name), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("admin.ring_edit", ring_id=ring.id))


@bp.route("/gemeenten", methods=["GET", "POST"])
def municipality_viewers():
    """Give a gemeente official read-only access to their gemeente's figures."""
    form = MunicipalityViewerForm()
    form.municipality_id.choices = [
        (m.id, m.name) for m in db.session.scalars(select(Municipality).order_by(Municipality.name))
    ]
    if form.validate_on_submit():
        municipality = db.session.get(Municipality, form.municipality_id.data) or abort(404)
        try:
            user = services.municipality_viewer_add(
                municipality=municipality, email=form.email.data, name=form.name.data or "",
                added_by=current_user,
            )
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("%(name)s kan nu de cijfers van %(municipality)s bekijken.",
                     name=user.name, municipality=municipality.name), "success")
            return redirect(url_for("admin.index"))
    return render_template("admin/municipality_viewer.html", form=form)
