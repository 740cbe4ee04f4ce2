"""Language selection: Dutch by default, English on request."""

from flask import Flask, current_app, g, has_request_context, request, session
from flask_login import current_user

from ruilkring.extensions import babel


def select_locale() -> str:
    """The signed-in user's choice, else the session's choice, else Dutch. The JSON API
    has no session: there it is the token owner's choice, else the request's
    ``Accept-Language``, else Dutch."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and cron jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if request.blueprint == "api":
        token = g.get("api_token")
        if token is not None and token.member.user.locale in languages:
            return token.member.user.locale
        return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    return chosen if chosen in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
