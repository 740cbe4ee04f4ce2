"""Log in and out, reset and change passwords, edit one's own account."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from ruilkring.auth import services
from ruilkring.auth.forms import (
    AccountForm,
    LoginForm,
    PasswordChangeForm,
    PasswordForgotForm,
    PasswordSetForm,
)
from ruilkring.errors import DomainError
from ruilkring.extensions import db, limiter
from ruilkring.notifications.services import mail_queue

bp = Blueprint("auth", __name__)


def _login_failed(response) -> bool:
    """Only failed attempts count towards the login limits (a failure re-renders the form)."""
    return request.method == "POST" and response.status_code == 200


def _login_account_key() -> str:
    return "login:" + services.normalise_email(request.form.get("email", ""))


def _safe_next(target: str | None) -> str | None:
    """Only local paths, so a login link cannot send people to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/inloggen", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_login_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_login_account_key, deduct_when=_login_failed)
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.user_authenticate(email=form.email.data, password=form.password.data)
        if user is None:
            form.form_errors.append(_l("Dit e-mailadres en wachtwoord horen niet bij elkaar."))
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


@bp.post("/uitloggen")
def logout():
    """Sign out (a POST with CSRF token, so other sites cannot sign people out)."""
    logout_user()
    flash(_l("U bent uitgelogd."), "info")
    return redirect(url_for("main.home"))


@bp.route("/wachtwoord-vergeten", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def password_forgot():
    """Ask for a reset link. The answer is the same whether or not the address is known."""
    form = PasswordForgotForm()
    if form.validate_on_submit():
        user = services.user_by_email(form.email.data)
        if user is not None and user.is_active:
            token = services.password_token_create(user=user)
            mail_queue(
                user=user,
                subject=_l("Nieuw wachtwoord instellen"),
                template="password_reset",
                link=url_for("auth.password_reset", purpose="reset", token=token, _external=True),
            )
            db.session.commit()
        flash(_l("Als dit adres bij ons bekend is, staat er nu een e-mail met een link klaar. "
                 "De link werkt twee uur en één keer."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/password_forgot.html", form=form)


@bp.route("/wachtwoord-instellen/<any(reset, invite):purpose>/<token>", methods=["GET", "POST"])
def password_reset(purpose: str, token: str):
    """Set a new password from an e-mailed reset or invitation link."""
    try:
        user = services.password_token_user(token, purpose=purpose)
    except DomainError as error:
        return render_template("auth/password_link_invalid.html", message=error.message), 400
    form = PasswordSetForm()
    if form.validate_on_submit():
        try:
            services.password_set(user=user, password=form.password.data)
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            logout_user()
            flash(_l("Uw wachtwoord is ingesteld. U kunt nu inloggen."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/password_reset.html", form=form, user=user)


@bp.route("/account/wachtwoord", methods=["GET", "POST"])
@login_required
def password_change():
    """Change one's own password."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.password_change(
                user=current_user, current_password=form.current_password.data,
                new_password=form.password.data,
            )
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("Uw wachtwoord is gewijzigd."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/password_change.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Edit one's own name, contact details and language."""
    form = AccountForm(obj=current_user)
    if form.validate_on_submit():
        try:
            services.user_update_account(
                user=current_user, name=form.name.data, phone=form.phone.data,
                address=form.address.data, locale=form.locale.data,
            )
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("Uw gegevens zijn opgeslagen."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)
