"""Helpers several import test modules share."""

from pathlib import Path

from sqlalchemy import select

from ruilkring.audit.models import AuditEvent
from ruilkring.auth.models import User
from ruilkring.disputes.models import Dispute, DisputeEvent
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, Entry, LimitChange, Transfer
from ruilkring.listings.models import Category, Listing
from ruilkring.members.models import Member
from ruilkring.portability import importer
from ruilkring.portability.formats import generic
from ruilkring.stats.models import Tie
from tests.helpers import count

GENERIC = Path(__file__).resolve().parent.parent / "data" / "import" / "generic"
SAMPLE = [GENERIC / "members.csv", GENERIC / "transfers.csv", GENERIC / "listings.csv", GENERIC / "disputes.csv",
          GENERIC / "dispute_events.csv"]
TABLES = (User, Member, Account, Transfer, Entry, Listing, Category, LimitChange, AuditEvent, Tie, Dispute,
          DisputeEvent)


def run(ring, coby, paths=SAMPLE, dry_run=False):
    """Import generic-format ``paths`` into ``ring`` as the coordinator ``coby``."""
    return importer.import_run(ring=ring, batch=generic.read(paths), imported_by=coby.user, dry_run=dry_run)


def cli(app, *args):
    """``flask import ARGS`` through the CLI runner."""
    return app.test_cli_runner().invoke(args=["import", *map(str, args)])


def snapshot() -> dict:
    """How many rows each table an import writes to has."""
    return {model.__name__: count(model) for model in TABLES}


def members_by_name(ring) -> dict[str, Member]:
    members = db.session.scalars(select(Member).where(Member.ring_id == ring.id)).all()
    return {member.name: member for member in members}
