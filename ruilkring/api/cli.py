"""``flask --app ruilkring api-token EMAIL [--ring SLUG] [--name NAME]`` for operators."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ruilkring.extensions import db


@click.command("api-token")
@click.argument("email")
@click.option("--ring", "ring_slug", default=None, help="The ring (slug); needed when the user is in several.")
@click.option("--name", default="CLI", show_default=True, help="A name to tell the token apart.")
@with_appcontext
def api_token_command(email: str, ring_slug: str | None, name: str) -> None:
    """Make a personal API token for a member and print it (it is shown only once)."""
    from ruilkring.api.services import api_token_create
    from ruilkring.auth.services import user_by_email
    from ruilkring.errors import DomainError
    from ruilkring.members.models import Member
    from ruilkring.rings.models import Ring

    user = user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with e-mail address {email}.")
    query = select(Member).join(Ring, Ring.id == Member.ring_id).where(Member.user_id == user.id)
    if ring_slug:
        query = query.where(Ring.slug == ring_slug)
    memberships = db.session.scalars(query).all()
    if not memberships:
        raise click.ClickException(f"{email} is not a member of {ring_slug or 'any ring'}.")
    if len(memberships) > 1:
        slugs = ", ".join(sorted(m.ring.slug for m in memberships))
        raise click.ClickException(f"{email} is in several rings ({slugs}); choose one with --ring.")
    try:
        _, token = api_token_create(member=memberships[0], name=name, created_by=user)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(token)
