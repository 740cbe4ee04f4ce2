"""ruilkring: a platform for Dutch ruilkringen (local exchange trading systems)."""

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ruilkring.config import load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``RUILKRING_*`` environment variables, then ``config``."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    load_config(app, config)
    if app.config["PROXY_COUNT"]:
        # Behind nginx or similar: the client's address (for rate limits) and the
        # scheme come from the proxy's X-Forwarded-* headers.
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    from ruilkring import extensions, i18n, web

    extensions.db.init_app(app)
    with app.app_context():
        from ruilkring.database import configure_engine, migration_include_name

        configure_engine(extensions.db.engine)
    extensions.migrate.init_app(
        app, extensions.db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
        include_name=migration_include_name,
    )
    extensions.csrf.init_app(app)
    extensions.htmx.init_app(app)
    extensions.mail.init_app(app)
    extensions.limiter.init_app(app)
    extensions.talisman.init_app(
        app,
        # TLS ends at the proxy, which redirects http to https (docs/operations.md); HSTS
        # is sent on https requests. The cookie settings stay those of ruilkring.config.
        force_https=False,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=extensions.CONTENT_SECURITY_POLICY,
        frame_options="DENY",
    )
    i18n.init_app(app)
    _import_models()
    web.init_app(app)
    _register_blueprints(app)

    from ruilkring.cli import register_commands

    register_commands(app)
    return app


def _import_models() -> None:
    """Every model module, so metadata (and Alembic autogenerate) sees all tables."""
    from ruilkring.api import models as _api  # noqa: F401
    from ruilkring.audit import models as _audit  # noqa: F401
    from ruilkring.auth import models as _auth  # noqa: F401
    from ruilkring.disputes import models as _disputes  # noqa: F401
    from ruilkring.ledger import models as _ledger  # noqa: F401
    from ruilkring.listings import models as _listings  # noqa: F401
    from ruilkring.members import models as _members  # noqa: F401
    from ruilkring.messages import models as _messages  # noqa: F401
    from ruilkring.notifications import models as _notifications  # noqa: F401
    from ruilkring.rings import models as _rings  # noqa: F401
    from ruilkring.stats import models as _stats  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from ruilkring.admin.views import bp as admin_bp
    from ruilkring.api.tokens import bp as api_tokens_bp
    from ruilkring.api.views import bp as api_bp
    from ruilkring.audit.views import bp as audit_bp
    from ruilkring.auth.views import bp as auth_bp
    from ruilkring.disputes.views import bp as disputes_bp
    from ruilkring.ledger.views import bp as ledger_bp
    from ruilkring.listings.views import bp as listings_bp
    from ruilkring.main.views import bp as main_bp
    from ruilkring.members.views import bp as members_bp
    from ruilkring.messages.views import bp as messages_bp
    from ruilkring.municipality.views import bp as municipality_bp
    from ruilkring.portability.views import bp as portability_bp
    from ruilkring.rings.views import bp as rings_bp
    from ruilkring.stats.views import bp as stats_bp

    for blueprint in (main_bp, auth_bp, rings_bp, members_bp, ledger_bp, listings_bp, messages_bp,
                      disputes_bp, audit_bp, stats_bp, admin_bp, municipality_bp, api_bp, api_tokens_bp,
                      portability_bp):
        app.register_blueprint(blueprint)
