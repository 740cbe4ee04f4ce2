"""The own-account page for personal API tokens: make one (shown once) or revoke one."""

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ruilkring.api.forms import ApiTokenForm
from ruilkring.api.models import ApiToken
from ruilkring.api.selectors import user_api_tokens
from ruilkring.api.services import api_token_create, api_token_revoke
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.members.models import ACCESS_STATUSES

bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-sleutels")


def _memberships():
    return [m for m in current_user.memberships if m.status in ACCESS_STATUSES]


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    """The user's tokens, and the form for a new one. A new token is shown on the page
    that answers the form, once; it is never stored."""
    memberships = _memberships()
    form = ApiTokenForm()
    form.member_id.choices = [(m.id, m.ring.name) for m in memberships]
    secret = None
    if memberships and form.validate_on_submit():
        member = next(m for m in memberships if m.id == form.member_id.data)
        try:
            _, secret = api_token_create(member=member, name=form.name.data, created_by=current_user)
        except DomainError as error:
            db.session.rollback()
            error.apply_to(form)
        else:
            db.session.commit()
            form = ApiTokenForm(formdata=None)
            form.member_id.choices = [(m.id, m.ring.name) for m in memberships]
    response = make_response(render_template("api/tokens.html", form=form, secret=secret,
                                              memberships=memberships, tokens=user_api_tokens(user=current_user)))
    if secret:
        response.headers["Cache-Control"] = "no-store"  # the new token must not stay in a cache
    return response


@bp.post("/<int:token_id>/intrekken")
@login_required
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.member.user_id != current_user.id:
        abort(404)
    api_token_revoke(token=token, revoked_by=current_user)
    db.session.commit()
    flash(_l("De sleutel %(name)s is ingetrokken en werkt niet meer.", name=token.name), "success")
    return redirect(url_for("api_tokens.index"))
