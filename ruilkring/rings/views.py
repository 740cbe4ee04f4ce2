"""The public page of a ring: what it is, its wijken and house rules, and how to join."""

from flask import render_template

from ruilkring.access import public, ring_blueprint

bp = ring_blueprint("rings", __name__)


@bp.route("/")
@public
def public_page():
    """Anyone may read about the ring and find the sign-up."""
    return render_template("rings/public.html")
