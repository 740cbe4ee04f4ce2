"""Configuration: defaults, then ``RUILKRING_*`` environment variables, then a test dict."""

import os
import secrets
from pathlib import Path

from flask import Flask


class ConfigError(RuntimeError):
    """The app cannot start with this configuration."""


DEFAULTS = {
    # "production", "development" or "testing". Production is the default so that a
    # forgotten setting fails safe (real mail, secure cookies, a required secret key).
    "ENV": "production",
    "DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "SECRET_KEY": None,
    "MAIL_FROM": "ruilkring <noreply@localhost>",
    "MAIL_SERVER": "localhost",
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "OUTBOX_DIR": None,  # development and testing: where mail is written
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
    "LOGIN_LIMIT_PER_ADDRESS": "30 per 15 minutes",
    "PASSWORD_RESET_MAX_AGE": 2 * 60 * 60,  # seconds
    "INVITE_MAX_AGE": 14 * 24 * 60 * 60,
    "MIN_PASSWORD_LENGTH": 10,
    "BABEL_DEFAULT_LOCALE": "nl",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Amsterdam",  # times are stored in UTC, shown in Dutch time
    "LANGUAGES": ("nl", "en"),
    # Where the site lives, for links in mails sent by CLI commands and cron jobs.
    "BASE_URL": "http://127.0.0.1:5000",
    # Number of proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
    "PROXY_COUNT": 0,
    # Listing pictures: where they are stored (None: <instance>/uploads; must be on
    # persistent, backed-up storage) and the largest file accepted.
    "UPLOAD_DIR": None,
    "MAX_PICTURE_BYTES": 5 * 1024 * 1024,
    # Largest request body Flask accepts (three pictures plus the form); larger ones get 413.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
}


def load_config(app: Flask, config: dict | None) -> None:
    """Fill ``app.config`` from defaults, the environment and ``config``, then check it."""
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("RUILKRING")
    if config:
        app.config.update(config)

    env = app.config["ENV"]
    if env not in ("production", "development", "testing"):
        raise ConfigError(f"RUILKRING_ENV must be production, development or testing, not {env!r}")
    production = env == "production"

    if not app.config["SECRET_KEY"]:
        if production:
            raise ConfigError(
                "RUILKRING_SECRET_KEY is not set. In production a fixed secret key is required: "
                'generate one with  python -c "import secrets; print(secrets.token_hex(32))"'
            )
        app.config["SECRET_KEY"] = _development_secret(Path(app.instance_path))

    url = app.config["DATABASE_URL"] or f"sqlite:///{Path(app.instance_path) / 'ruilkring.sqlite'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    # A database server may have dropped a pooled connection (a restart, an idle timeout):
    # test it when it is taken from the pool. A SQLite file cannot, so spare the query there.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": not url.startswith("sqlite")}
    app.config["UPLOAD_DIR"] = str(app.config["UPLOAD_DIR"] or Path(app.instance_path) / "uploads")

    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=production,
        MAIL_DEFAULT_SENDER=app.config["MAIL_FROM"],
        BABEL_TRANSLATION_DIRECTORIES=str(Path(app.root_path) / "translations"),
    )
    if production:
        app.config["MAIL_BACKEND"] = "smtp"
    else:
        outbox = app.config["OUTBOX_DIR"] or str(Path(app.instance_path) / "outbox")
        app.config["OUTBOX_DIR"] = outbox
        app.config["MAIL_BACKEND"] = "file"
        app.config["MAIL_FILE_PATH"] = outbox


def _development_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    path = instance / "dev-secret-key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    os.chmod(path, 0o600)
    return key
