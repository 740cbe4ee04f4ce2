"""``flask --app ruilkring api-token EMAIL [--ring SLUG] [--name NAME]`` for operators."""

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
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
        raise click.ClickException(_("Er is geen gebruiker met e-mailadres %(email)s.",
                                     email=email))
    query = select(Member).join(Ring, Ring.id == Member.ring_id).where(Member.user_id == user.id)
    if ring_slug:
        query = query.where(Ring.slug == ring_slug)
    memberships = db.session.scalars(query).all()
    if not memberships:
        if ring_slug:
            raise click.ClickException(_("%(email)s is geen lid van kring %(slug)s.", email=email,
                                         slug=ring_slug))
        raise click.ClickException(_("%(email)s is van geen enkele kring lid.", email=email))
    if len(memberships) > 1:
        slugs = ", ".join(sorted(m.ring.slug for m in memberships))
        raise click.ClickException(_(
            "%(email)s is lid van meerdere kringen (%(slugs)s); kies er een met --ring.",
            email=email, slugs=slugs))
    try:
        _row, token = api_token_create(member=memberships[0], name=name, created_by=user)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(token)
