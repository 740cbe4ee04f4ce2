"""Access control: deny by default, and scope every ring page to the current ring.

Ring pages live under ``/kring/<ring_slug>/``. ``ring_blueprint`` makes a Blueprint that
loads the ring from the URL into ``g.ring`` and the current user's membership into
``g.member``, and refuses every view unless the user may use the ring. A view opts out
with ``@public`` or asks for more with ``@coordinator_required``. Ids of other rings' rows
are never found: loaders filter on ``g.ring`` and answer 404.
"""

from functools import wraps

from flask import Blueprint, abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import select

from ruilkring.extensions import db
from ruilkring.members.models import Member
from ruilkring.rings.models import Ring


def public(view):
    """Let anyone, signed in or not, see this ring page."""
    view.is_public = True
    return view


def coordinator_required(view):
    """Only the ring's coordinators and platform admins."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_ring_coordinator():
            abort(404)
        return view(*args, **kwargs)

    wrapper.requires_coordinator = True
    return wrapper


def admin_required(view):
    """Only platform admins; others get 404, as if the page did not exist."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def is_ring_coordinator() -> bool:
    """Whether the current user coordinates ``g.ring`` (admins count as coordinators)."""
    if not current_user.is_authenticated:
        return False
    if current_user.is_admin:
        return True
    member = g.get("member")
    return member is not None and member.is_coordinator


def ring_blueprint(name: str, import_name: str) -> Blueprint:
    """A Blueprint whose views are ring pages, guarded as the module docstring says."""
    bp = Blueprint(name, import_name, url_prefix="/kring/<ring_slug>")

    @bp.url_value_preprocessor
    def load_ring(endpoint, values):
        slug = values.pop("ring_slug")
        ring = db.session.scalar(select(Ring).where(Ring.slug == slug))
        if ring is None:
            abort(404)
        g.ring = ring
        g.member = None
        if current_user.is_authenticated:
            g.member = db.session.scalar(
                select(Member).where(Member.ring_id == ring.id, Member.user_id == current_user.id)
            )

    @bp.url_defaults
    def add_ring_slug(endpoint, values):
        if "ring_slug" not in values and g.get("ring") is not None:
            values["ring_slug"] = g.ring.slug

    @bp.before_request
    def require_access():
        view = current_app.view_functions.get(request.endpoint)
        if getattr(view, "is_public", False):
            return None
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.is_admin:
            return None
        if g.member is None or not g.member.has_access:
            abort(404)
        return None

    return bp


def ring_member_or_404(member_id: int) -> Member:
    """The member with this id in the current ring, or 404."""
    member = db.session.scalar(
        select(Member).where(Member.id == member_id, Member.ring_id == g.ring.id)
    )
    if member is None:
        abort(404)
    return member
