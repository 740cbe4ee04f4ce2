"""Flask CLI commands for operators and cron: ``flask --app ruilkring <command>``."""

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ruilkring.extensions import db


def link_context():
    """A request context for commands whose services build links for mails and
    notifications; links point at ``RUILKRING_BASE_URL``."""
    return current_app.test_request_context(base_url=current_app.config["BASE_URL"])


def register_commands(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(listings_cli)
    app.cli.add_command(digest_cli)

    from ruilkring.api.cli import api_token_command

    app.cli.add_command(api_token_command)

    from ruilkring.portability.cli import import_command

    app.cli.add_command(import_command)


@click.command("demo")
@click.option("--members", default=60, show_default=True, help="Members in the main demo ring.")
@click.option("--months", default=12, show_default=True, help="Months of history to make up.")
@click.option("--seed", default=1, show_default=True, help="The same seed gives the same data.")
@click.option("--trades", type=int, default=None,
              help="Trades in the main ring's history [default: members x months].")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has data.")
@with_appcontext
def demo_command(members: int, months: int, seed: int, trades: int | None, if_empty: bool) -> None:
    """Fill an empty database with realistic, deterministic demo data."""
    from ruilkring.demo import DemoError, database_is_empty, demo_load

    if if_empty and not database_is_empty():
        click.echo("The database already has data; no demo data loaded.")
        return
    try:
        with link_context():
            summary = demo_load(members=members, months=months, seed=seed, trades=trades)
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(summary)


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Beheerder", show_default=True)
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create a platform admin, or make an existing account admin."""
    from ruilkring.auth.models import User
    from ruilkring.auth.services import normalise_email, password_set, user_by_email
    from ruilkring.errors import DomainError

    user = user_by_email(email)
    if user is None:
        user = User(email=normalise_email(email), name=name)
        db.session.add(user)
    try:
        password_set(user=user, password=password)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    user.is_admin = True
    db.session.commit()
    click.echo(f"{user.email} is now an admin.")


ledger_cli = click.Group("ledger", help="Ledger checks and maintenance.")


@ledger_cli.command("verify")
@with_appcontext
def ledger_verify_command() -> None:
    """Check every ledger invariant over all rings; exit 1 naming each problem."""
    from ruilkring.ledger.verify import CHECKS, ledger_verify

    problems = ledger_verify()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"ledger ok: {len(CHECKS)} checks passed")


@ledger_cli.command("expire-requests")
@with_appcontext
def ledger_expire_requests_command() -> None:
    """Mark payment requests past their date as expired (run daily from cron)."""
    from ruilkring.ledger.services import payment_requests_expire

    with link_context():
        count = payment_requests_expire()
    db.session.commit()
    click.echo(f"{count} payment requests expired")


listings_cli = click.Group("listings", help="Offers and requests: periodic jobs.")


@listings_cli.command("remind-expiring")
@with_appcontext
def listings_remind_expiring_command() -> None:
    """Mail owners whose listing expires in seven days a one-click renew link (run daily
    from cron). A listing is reminded once; running again sends nothing new."""
    from datetime import timedelta

    from ruilkring import clock
    from ruilkring.listings.selectors import listings_expiring
    from ruilkring.listings.services import REMIND_DAYS_BEFORE_EXPIRY, listing_expiry_remind

    today = clock.now().date()
    sent = 0
    with link_context():
        for listing in listings_expiring(on=today + timedelta(days=REMIND_DAYS_BEFORE_EXPIRY)):
            if listing_expiry_remind(listing=listing, today=today):
                sent += 1
            db.session.commit()  # one listing at a time: its mark and its mail go together
    click.echo(f"{sent} expiry reminders sent")


digest_cli = click.Group("digest", help="The weekly e-mail with new offers and requests.")


@digest_cli.command("send")
@with_appcontext
def digest_send_command() -> None:
    """Mail every member who wants it what others in their ring posted in the last seven
    days (run weekly from cron). Each member gets at most one digest per ISO week."""
    from ruilkring import clock
    from ruilkring.listings.digest import digest_recipients, digest_send, iso_week

    now = clock.now()
    sent = 0
    with link_context():
        for member in digest_recipients(week=iso_week(now)):
            if digest_send(member=member, now=now):
                sent += 1
            db.session.commit()  # the week mark and the queued mail commit together
    click.echo(f"{sent} digests sent")


stats_cli = click.Group("stats", help="Social-effect statistics.")


@stats_cli.command("refresh")
@click.option("--ring", "ring_slug", default=None, help="Only this ring (slug).")
@with_appcontext
def stats_refresh_command(ring_slug: str | None) -> None:
    """Rebuild the ties and monthly rollups from the transfers (nightly from cron; the
    ledger keeps them current, this repairs and checks)."""
    from sqlalchemy import select

    from ruilkring.rings.models import Ring
    from ruilkring.stats.rollups import rollups_rebuild
    from ruilkring.stats.ties import ties_rebuild

    query = select(Ring).order_by(Ring.id)
    if ring_slug:
        query = query.where(Ring.slug == ring_slug)
    rings = db.session.scalars(query).all()
    if ring_slug and not rings:
        raise click.ClickException(f"no ring with slug {ring_slug!r}")
    for ring in rings:
        ties = ties_rebuild(ring_id=ring.id)
        rows = rollups_rebuild(ring_id=ring.id)
        db.session.commit()
        click.echo(f"{ring.slug}: {ties} ties, {rows} member-months")
