"""Deterministic, realistic demo data for trying the platform and for benchmarks.

The same seed always gives the same data. Every person gets the same password hash
(hashing 10,000 passwords would take minutes), and rows are inserted in bulk.
"""

import random
from datetime import timedelta

from faker import Faker
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from ruilkring import clock
from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.rings.models import Municipality, Ring
from ruilkring.rings.services import neighbourhoods_for

DEMO_PASSWORD = "ruilkring-demo"

HOUSE_RULES = """1. Eén uur hulp is één uur, wat de hulp ook is.
2. Spreek vooraf af wat u gaat doen en hoe lang het ongeveer duurt.
3. Betaal binnen een week na de hulp, of vraag de ander om een betaalverzoek.
4. Blijf binnen uw kredietlimiet; vraag de coördinator als u meer ruimte nodig hebt.
5. Wees vriendelijk en respecteer elkaars privacy.
6. Een probleem? Praat eerst samen; kom er je niet uit, bel dan de coördinator."""

RINGS = (
    ("Ruilkring Utrecht-Oost", "Utrecht", ("Oudwijk", "Wittevrouwen", "Lombok", "Tuindorp", "Rivierenwijk")),
    ("Ruilkring Zeist", "Zeist", ("Centrum", "Kerckebosch", "Vollenhove", "Austerlitz")),
)

# Share of members per status, the rest active.
STATUS_MIX = ((MemberStatus.PENDING, 0.04), (MemberStatus.INACTIVE, 0.05),
              (MemberStatus.LEAVING, 0.02), (MemberStatus.LEFT, 0.04))


class DemoError(RuntimeError):
    pass


def demo_load(*, members: int, months: int, seed: int) -> str:
    """Create demo rings, people and the four demo accounts; returns a summary line."""
    if members < 10:
        raise DemoError("--members must be at least 10")
    if months < 1:
        raise DemoError("--months must be at least 1")
    if not database_is_empty():
        raise DemoError("the database already has rings; demo data goes into an empty database")

    rng = random.Random(seed)
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    now = clock.now()
    start = now - timedelta(days=30 * months)
    password_hash = generate_password_hash(DEMO_PASSWORD)

    rings = []
    for index, (name, municipality_name, wijken) in enumerate(RINGS):
        municipality = Municipality(name=municipality_name)
        db.session.add(municipality)
        ring = Ring(
            slug=name.lower().replace(" ", "-"), name=name, municipality=municipality,
            description=f"Buren in {municipality_name} helpen elkaar, en betalen met tijd.",
            house_rules=HOUSE_RULES, created_at=start,
            neighbourhoods=neighbourhoods_for(municipality=municipality, names=list(wijken)),
        )
        db.session.add(ring)
        rings.append((ring, members if index == 0 else max(10, members // 4)))
    db.session.flush()

    admin = _demo_user("admin@example.org", "Anna Beheer", password_hash, now, is_admin=True)
    viewer = _demo_user("gemeente@example.org", "Gerrit van de Gemeente", password_hash, now,
                        municipality_id=rings[0][0].municipality_id)
    coordinator = _demo_user("coordinator@example.org", "Carla Coördinator", password_hash, now)
    member = _demo_user("lid@example.org", "Lieke Lid", password_hash, now)
    db.session.add_all([admin, viewer, coordinator, member])
    db.session.flush()
    main_ring = rings[0][0]
    wijk = main_ring.neighbourhoods[0].id
    db.session.add_all([
        Member(ring_id=main_ring.id, user_id=coordinator.id, role=MemberRole.COORDINATOR,
               status=MemberStatus.ACTIVE, neighbourhood_id=wijk, birth_year=1961, created_at=start,
               approved_at=start, house_rules_accepted_version=1, bio="Coördinator sinds het begin."),
        Member(ring_id=main_ring.id, user_id=member.id, status=MemberStatus.ACTIVE,
               neighbourhood_id=main_ring.neighbourhoods[1].id, birth_year=1948, created_at=start,
               approved_at=start, share_email=True, share_phone=True, house_rules_accepted_version=1,
               bio="Ik help graag met de tuin en drink graag koffie."),
    ])

    total = 0
    for ring, count in rings:
        total += _demo_members(ring, count, rng, fake, password_hash, start, now)
    return (f"Demo data: {len(rings)} rings, {total} members (+4 demo accounts). "
            f"Password for every account: {DEMO_PASSWORD}")


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Ring))


def _demo_user(email, name, password_hash, now, **extra) -> User:
    return User(email=email, name=name, password_hash=password_hash, created_at=now, **extra)


def _demo_members(ring: Ring, count: int, rng: random.Random, fake: Faker, password_hash: str,
                  start, now) -> int:
    """Bulk-insert ``count`` people with memberships of ``ring``; returns ``count``."""
    span = (now - start).total_seconds()
    users, memberships = [], []
    wijken = [n.id for n in ring.neighbourhoods]
    for offset in range(count):
        joined = start + timedelta(seconds=span * (offset / count) * rng.uniform(0.6, 1.0))
        users.append({
            "email": f"lid{offset + 1}.{ring.slug}@example.net", "name": fake.name(),
            "password_hash": password_hash, "phone": fake.phone_number(),
            "address": fake.street_address(), "locale": "nl", "is_admin": False, "created_at": joined,
        })
        status = _pick_status(rng)
        memberships.append({
            "ring_id": ring.id, "role": MemberRole.MEMBER, "status": status,
            "neighbourhood_id": rng.choice(wijken),
            "birth_year": rng.choice([None] + list(range(1935, 2005))),
            "bio": "", "share_email": rng.random() < 0.5, "share_phone": rng.random() < 0.4,
            "share_address": rng.random() < 0.1, "house_rules_accepted_version": 1,
            "created_at": joined,
            "approved_at": None if status == MemberStatus.PENDING else joined,
            "status_changed_at": joined,
        })
    user_ids = db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True), users
    ).all()
    for membership, user_id in zip(memberships, user_ids, strict=True):
        membership["user_id"] = user_id
    db.session.execute(insert(Member), memberships)
    return count


def _pick_status(rng: random.Random) -> MemberStatus:
    roll = rng.random()
    for status, share in STATUS_MIX:
        if roll < share:
            return status
        roll -= share
    return MemberStatus.ACTIVE
