"""Request plumbing shared by every area: login, errors, template helpers, htmx helpers."""

import logging
from itertools import chain

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from werkzeug.routing import IntegerConverter

from ruilkring.extensions import db, htmx, login_manager
from ruilkring.types import INT_MAX

log = logging.getLogger(__name__)



class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: a number past what an id column holds names nothing (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def db_id(value: str) -> int:
    """``type=`` for ids in query strings (``request.args.get("aan", type=db_id)``): None
    for anything that is not a positive number an id column can hold."""
    number = int(value)
    if not 0 < number <= INT_MAX:
        raise ValueError(value)
    return number


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before the blueprints' routes are added
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log in om deze pagina te zien.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        from ruilkring.auth.models import User

        return db.session.get(User, int(user_id))

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(get_locale=get_locale, query_args=query_args)
    app.jinja_env.filters.update(date=format_date, datetime=format_datetime)
    app.context_processor(_layout_context)
    # Before the blueprints' own URL processors, which look the ring up by its slug.
    app.url_value_preprocessor(lambda endpoint, values: _refuse_nul_characters())
    app.after_request(_vary_on_htmx)
    _register_error_pages(app)


def _refuse_nul_characters():
    """No text may hold a NUL character (PostgreSQL cannot store one): refuse the request as
    not understood before anything reads it."""
    texts = [request.path, *chain(*request.args.listvalues())]
    if request.is_json:  # parsed once and kept; malformed JSON is the API's to refuse
        texts += _json_strings(request.get_json(silent=True))
    elif not request.path.startswith("/api/"):  # the API refuses other bodies itself, unparsed
        texts += chain(*request.form.listvalues())
    if any("\x00" in text for text in texts):
        abort(400)


def _json_strings(value) -> list[str]:
    """Every string (keys too) in a parsed JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *chain.from_iterable(_json_strings(item) for item in value.values())]
    if isinstance(value, list):
        return list(chain.from_iterable(_json_strings(item) for item in value))
    return []


def _layout_context() -> dict:
    """What the page layout needs: the user's rings, unread notifications, and the number
    of conversations with unread messages (over all the user's rings)."""
    from ruilkring.members.models import ACCESS_STATUSES, Member
    from ruilkring.messages.selectors import unread_conversation_count
    from ruilkring.notifications.models import Notification

    if not (current_user and current_user.is_authenticated):  # no user outside requests (mail)
        return {}
    if htmx and htmx.target:  # a fragment: the layout is not drawn
        return {}
    memberships = db.session.scalars(
        select(Member).where(Member.user_id == current_user.id, Member.status.in_(ACCESS_STATUSES))
    ).all()
    unread = db.session.scalar(
        select(func.count()).where(
            Notification.user_id == current_user.id, Notification.read_at.is_(None)
        )
    )
    return {"my_memberships": memberships, "unread_notifications": unread,
            "unread_messages": unread_conversation_count(members=memberships)}


def _vary_on_htmx(response):
    """Pages and fragments share URLs: caches must tell them apart."""
    response.vary.update(("HX-Request", "HX-Target"))
    return response


def query_args(**changes) -> dict:
    """The request's query string, with ``changes``, for links to more of the same list (the
    next page, the CSV, ...): ``url_for(endpoint, **query_args(page=2))``. Left out: what
    url_for would take as its own (``endpoint``, ``_method``, ``_external``, ...) and the page's route
    values (``ring_slug``, ``member_id``), so a made-up query can neither break the links
    nor point them at another ring or member."""
    route = request.url_rule.arguments if request.url_rule else set()
    args = {key: value for key, value in request.args.items()
            if not key.startswith("_") and key != "endpoint" and key not in route}
    return {**args, **changes}


def htmx_targets(target_id: str) -> bool:
    """Whether this is an htmx request that swaps just the element ``target_id``.

    Boosted navigation is an htmx request too, so checking the target (not merely the
    HX-Request header) tells a fragment request from a whole page.
    """
    return bool(htmx) and htmx.target == target_id


def page_or_fragment(page: str, fragment: str, target_id: str, /, **context) -> str:
    """Render ``fragment`` alone for htmx requests aimed at ``target_id`` (with ``fragment``
    true in its context), else ``page``. (Positional only: a context may hold a ``page``.)"""
    alone = htmx_targets(target_id)
    return render_template(fragment if alone else page, fragment=alone, **context)


def _register_error_pages(app: Flask) -> None:
    def error_page(status: int, title, text):
        if request.path.startswith("/api/"):  # the JSON API answers with problem+json
            from ruilkring.api.problems import problem_response

            return problem_response(status, detail=text)
        return render_template("errors.html", status=status, title=title, text=text), status

    @app.errorhandler(400)
    def bad_request(error):
        return error_page(400, _l("Verzoek niet begrepen"), _l("Controleer wat u invulde en probeer het opnieuw."))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        flash(_l("Het formulier was verlopen. Vul het opnieuw in en verstuur het nog eens."), "error")
        return redirect(request.referrer or url_for("main.home"))

    @app.errorhandler(403)
    @app.errorhandler(404)
    def not_found(error):
        return error_page(404, _l("Pagina niet gevonden"), _l("Deze pagina bestaat niet, of u heeft er geen toegang toe."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        return error_page(405, _l("Dat kan hier niet"), _l("Deze pagina kan niet op deze manier worden gebruikt."))

    @app.errorhandler(413)
    def request_too_large(error):
        limit = (app.config["MAX_CONTENT_LENGTH"] or 0) // (1024 * 1024)
        return error_page(413, _l("Te groot om te versturen"), _l(
            "Wat u verstuurde is groter dan %(mb)d MB bij elkaar. Kies kleinere of minder foto's "
            "en probeer het opnieuw.", mb=limit))

    @app.errorhandler(429)
    def too_many_requests(error):
        return error_page(429, _l("Even geduld"), _l("Te veel pogingen achter elkaar. Wacht een kwartier en probeer het dan opnieuw."))

    @app.errorhandler(OverflowError)  # SQLite: a number too large for an INTEGER
    @app.errorhandler(DataError)
    def number_out_of_range(error):
        """A number in the URL or form past what the database's columns hold (an id, a page)
        can name nothing: not found. Any other data error is a fault of ours."""
        db.session.rollback()
        if isinstance(error, DataError) and getattr(error.orig, "sqlstate", None) != "22003":
            raise error
        if isinstance(error, OverflowError) and "SQLite INTEGER" not in str(error):
            raise error
        log.warning("number out of range, answered as not found: %s %s: %s", request.method, request.full_path,
                    getattr(error, "orig", error))
        return not_found(error)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return error_page(500, _l("Er ging iets mis"), _l("Er ging bij ons iets mis. Er is niets opgeslagen; probeer het later nog eens."))

