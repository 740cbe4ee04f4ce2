"""Ring pages: the public page, house rules, and the coordinators' hub and settings."""

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ruilkring.access import coordinator_required, public, ring_blueprint
from ruilkring.admin.forms import RingSettingsForm
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.members.models import MemberStatus
from ruilkring.members.selectors import status_counts
from ruilkring.members.services import member_accept_house_rules
from ruilkring.rings import services

bp = ring_blueprint("rings", __name__)


@bp.route("/")
@public
def public_page():
    """Anyone may read about the ring and find the sign-up."""
    return render_template("rings/public.html")


@bp.post("/huisregels/accepteren")
def accept_house_rules():
    """A member accepts the ring's changed house rules."""
    if g.member is None:
        abort(404)
    member_accept_house_rules(member=g.member)
    db.session.commit()
    flash(_l("Dank u wel. U heeft de nieuwe huisregels geaccepteerd."), "success")
    return redirect(url_for("members.home"))


@bp.route("/beheer")
@coordinator_required
def coordinator_home():
    """Everything a coordinator can do, on one page."""
    return render_template("rings/coordinator_home.html",
                           pending=status_counts(ring=g.ring).get(MemberStatus.PENDING, 0))


@bp.route("/beheer/instellingen", methods=["GET", "POST"])
@coordinator_required
def settings():
    """The ring's settings: name, wijken, limits, periods, house rules. Changed house
    rules are shown to every member, who accepts them again."""
    form = RingSettingsForm(obj=g.ring)
    if not form.is_submitted():
        form.neighbourhoods.data = "\n".join(n.name for n in g.ring.neighbourhoods)
    if form.validate_on_submit():
        version = g.ring.house_rules_version
        try:
            services.ring_update(ring=g.ring, updated_by=current_user, **form.settings())
        except DomainError as error:
            error.apply_to(form)
        else:
            if g.ring.house_rules_version != version and g.member is not None:
                member_accept_house_rules(member=g.member)
            db.session.commit()
            flash(_l("De instellingen zijn opgeslagen."), "success")
            return redirect(url_for("rings.settings"))
    return render_template("rings/settings.html", form=form)
