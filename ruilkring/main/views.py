"""Pages outside any ring."""

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select, update

from ruilkring import clock
from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.members.models import ACCESS_STATUSES, Member
from ruilkring.notifications.models import Notification
from ruilkring.notifications.outbox import outbox_messages
from ruilkring.rings.models import Ring

bp = Blueprint("main", __name__)

DEMO_ACCOUNTS = (
    ("lid@example.org", "member"),
    ("coordinator@example.org", "coordinator"),
    ("gemeente@example.org", "municipality"),
    ("admin@example.org", "admin"),
)


@bp.route("/")
def home():
    """Signed out: what this is and which rings exist. Signed in: where to go next."""
    if current_user.is_authenticated:
        memberships = db.session.scalars(select(Member).where(Member.user_id == current_user.id)).all()
        usable = [m for m in memberships if m.status in ACCESS_STATUSES]
        if len(usable) == 1 and not current_user.is_admin and request.args.get("stay") is None:
            return redirect(url_for("members.home", ring_slug=usable[0].ring.slug))
        if current_user.municipality_id and not usable and not current_user.is_admin:
            return redirect(url_for("municipality.index"))
        return render_template("main/home_signed_in.html", memberships=memberships)
    rings = db.session.scalars(select(Ring).order_by(Ring.name)).all()
    demo_accounts = []
    if current_app.config["ENV"] != "production":
        emails = [email for email, _ in DEMO_ACCOUNTS]
        existing = set(db.session.scalars(select(User.email).where(User.email.in_(emails))))
        demo_accounts = [(email, role) for email, role in DEMO_ACCOUNTS if email in existing]
    return render_template("main/home.html", rings=rings, demo_accounts=demo_accounts)


@bp.post("/taal/<code>")
def set_language(code: str):
    """Switch the interface language; kept on the account when signed in."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("main.home"))


@bp.route("/meldingen", methods=["GET", "POST"])
@login_required
def notifications():
    """The user's notifications, newest first; posting marks them all as read."""
    if request.method == "POST":
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
            .values(read_at=clock.now())
        )
        db.session.commit()
        return redirect(url_for("main.notifications"))
    items = db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(100)
    ).all()
    return render_template("main/notifications.html", items=items)


@bp.route("/dev/outbox")
def outbox():
    """Development and testing only: every mail the app 'sent', newest first."""
    if current_app.config["ENV"] == "production":
        abort(404)
    return render_template("main/outbox.html", messages=outbox_messages(current_app.config["OUTBOX_DIR"]))


@bp.route("/healthz")
def health():
    """For load balancers: answers when the database does."""
    db.session.execute(select(1))
    return {"status": "ok"}
