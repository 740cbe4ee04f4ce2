"""Pages for gemeente viewers."""

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

bp = Blueprint("municipality", __name__, url_prefix="/gemeente")


@bp.route("/")
@login_required
def index():
    """The viewer's gemeente and the rings it funds (aggregate figures follow in the stats area)."""
    if current_user.municipality is None:
        abort(404)
    return render_template("municipality/index.html", municipality=current_user.municipality)
