"""``flask --app ruilkring import``: bring members, balances or a history and listings from
another system into a ring (docs/import.md)."""

import importlib
import pkgutil
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ruilkring.extensions import db


def format_names() -> list[str]:
    """The formats there are readers for: the modules of ``ruilkring.portability.formats``
    that have a ``read`` function."""
    from ruilkring.portability import formats

    return sorted(
        info.name for info in pkgutil.iter_modules(formats.__path__)
        if hasattr(importlib.import_module(f"{formats.__name__}.{info.name}"), "read")
    )


def _split_arguments(arguments: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Files, and the format's own options: ``--minutes-per-unit 60`` or
    ``--minutes-per-unit=60`` becomes ``minutes_per_unit="60"``."""
    files, options = [], {}
    items = iter(arguments)
    for item in items:
        if not item.startswith("--"):
            files.append(item)
            continue
        name, equals, value = item[2:].partition("=")
        if not equals:
            value = next(items, None)
            if value is None:
                raise click.UsageError(f"option --{name} needs a value")
        options[name.replace("-", "_")] = value
    return files, options


@click.command("import", context_settings={"ignore_unknown_options": True})
@click.option("--ring", "ring_slug", required=True, help="The ring to import into (its slug).")
@click.option("--format", "format_name", required=True,
              help="generic, elas or timeoverflow (a module of ruilkring.portability.formats).")
@click.option("--dry-run", is_flag=True, help="Only check and report; change nothing.")
@click.option("--by", "by_email", default=None,
              help="E-mail of the person importing (recorded as the actor) [default: the ring's first "
                   "coordinator].")
@click.argument("arguments", nargs=-1, required=True, type=click.UNPROCESSED)
@with_appcontext
def import_command(ring_slug: str, format_name: str, dry_run: bool, by_email: str | None,
                   arguments: tuple[str, ...]) -> None:
    """Import FILES of another system into a ring, in one transaction. Options the format
    takes (e.g. --minutes-per-unit 60 for eLAS) go among the files. Exit 1 on problems."""
    from ruilkring.auth.services import user_by_email
    from ruilkring.members.services import ring_coordinators
    from ruilkring.portability.importer import import_run
    from ruilkring.rings.models import Ring

    ring = db.session.scalar(select(Ring).where(Ring.slug == ring_slug))
    if ring is None:
        raise click.ClickException(f"no ring with slug {ring_slug!r}")
    if format_name not in format_names():
        raise click.ClickException(f"unknown format {format_name!r}; known: {', '.join(format_names())}")
    if by_email:
        actor = user_by_email(by_email)
        if actor is None:
            raise click.ClickException(f"no user with e-mail {by_email!r}")
    else:
        coordinators = sorted(ring_coordinators(ring), key=lambda member: member.id)
        if not coordinators:
            raise click.ClickException("the ring has no coordinator; name the person importing with --by")
        actor = coordinators[0].user
    files, options = _split_arguments(arguments)
    if not files:
        raise click.UsageError("name at least one file")
    reader = importlib.import_module(f"ruilkring.portability.formats.{format_name}")
    click.echo(f"Reading {len(files)} file(s) as {format_name}...")
    try:
        batch = reader.read(files, **options)
    except TypeError as error:
        raise click.UsageError(str(error)) from None

    def progress(items, length, label):
        return click.progressbar(items, length=length, label=label, file=sys.stderr, show_pos=True,
                                 update_min_steps=max(1, length // 500))

    # A bar on a terminal only; in cron's mail or a log it would only add noise.
    report = import_run(ring=ring, batch=batch, imported_by=actor, dry_run=dry_run,
                        **({"progress": progress} if sys.stderr.isatty() else {}))
    for line in report.lines():
        click.echo(line)
    if report.problems:
        raise SystemExit(1)
