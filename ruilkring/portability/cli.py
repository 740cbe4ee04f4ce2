"""``flask --app ruilkring import``: bring members, balances or a history and listings from
another system into a ring (docs/import.md)."""

import importlib
import inspect
import pkgutil
import sys

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import ngettext
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
                raise click.UsageError(_("Optie --%(name)s heeft een waarde nodig.", name=name))
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
        raise click.ClickException(_("Er is geen kring met slug '%(slug)s'.", slug=ring_slug))
    if format_name not in format_names():
        raise click.ClickException(_("Onbekend formaat '%(format)s'; bekend zijn: %(known)s.",
                                      format=format_name, known=", ".join(format_names())))
    if by_email:
        actor = user_by_email(by_email)
        if actor is None:
            raise click.ClickException(_("Er is geen gebruiker met e-mailadres '%(email)s'.",
                                          email=by_email))
    else:
        coordinators = sorted(ring_coordinators(ring), key=lambda member: member.id)
        if not coordinators:
            raise click.ClickException(_(
                "De kring heeft geen coördinator; noem met --by wie importeert."))
        actor = coordinators[0].user
    files, options = _split_arguments(arguments)
    if not files:
        raise click.UsageError(_("Noem ten minste één bestand."))
    reader = importlib.import_module(f"ruilkring.portability.formats.{format_name}")
    click.echo(ngettext("%(num)d bestand inlezen als %(format)s...",
                        "%(num)d bestanden inlezen als %(format)s...", len(files),
                        format=format_name))
    try:
        batch = reader.read(files, **options)
    except TypeError:
        # A reader refuses options it does not take with a TypeError (see formats/__init__.py).
        parameters = inspect.signature(reader.read).parameters
        unknown = [name for name in options if name not in parameters]
        if not unknown:
            raise
        raise click.UsageError(_(
            "Het formaat %(format)s kent deze optie(s) niet: %(options)s.", format=format_name,
            options=", ".join("--" + name.replace("_", "-") for name in unknown))) from None

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
