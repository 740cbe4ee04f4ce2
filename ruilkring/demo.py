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
from ruilkring.listings.models import Category, Listing, ListingKind, ListingPlace, ListingStatus
from ruilkring.listings.services import DEFAULT_CATEGORIES, categories_create_defaults
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


def demo_load(*, members: int, months: int, seed: int, trades: int | None = None) -> str:
    """Create demo rings, people, the four demo accounts and a trade history (by default
    one trade per member per month); returns a summary line."""
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
    for ring, _count in rings:
        categories_create_defaults(ring=ring)

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

    total_members = total_trades = total_listings = 0
    for index, (ring, count) in enumerate(rings):
        total_members += _demo_members(ring, count, rng, fake, password_hash, start, now)
        ring_trades = trades if trades is not None else count * months
        if index:
            ring_trades //= 4
        total_trades += _demo_trades(ring, ring_trades, rng, start, now)
        _demo_contact_answers(ring, rng)
        total_listings += _demo_listings(ring, rng, now)
    _demo_ledger_moments(main_ring, rng, admin)
    _demo_conversations(main_ring, now)
    return (f"Demo data: {len(rings)} rings, {total_members} members (+4 demo accounts), "
            f"{total_trades} trades, {total_listings} listings. Password for every account: {DEMO_PASSWORD}")


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
        # Two in five are founders; the others joined over the months since.
        share = 0.0 if offset < count * 0.4 else offset / count * rng.uniform(0.6, 1.0)
        joined = start + timedelta(seconds=span * share)
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


HELP = (
    ("Fiets gerepareerd", (30, 45, 60)), ("Boodschappen gedaan", (30, 45, 60)),
    ("Tuin gewied", (60, 90, 120, 180)), ("Hond uitgelaten", (30, 45)),
    ("Hulp met de computer", (45, 60, 90)), ("Gezelschap en koffie", (60, 90)),
    ("Belastingaangifte ingevuld", (60, 90, 120)), ("Naar het ziekenhuis gebracht", (90, 120, 180)),
    ("Taalles Nederlands", (60, 90)), ("Soep gekookt", (60, 90)), ("Kast in elkaar gezet", (90, 120)),
    ("Oppassen", (120, 180, 240)), ("Gordijnen ingekort", (60, 90)), ("Lamp opgehangen", (30, 45)),
)


def _demo_trades(ring: Ring, count: int, rng: random.Random, start, now) -> int:
    """A history of ``count`` trades among the ring's active members, in date order.
    Neighbours in one wijk trade more often with each other (bonding), but not only."""
    from ruilkring.ledger.models import Account
    from ruilkring.ledger.services import HistoricalTransfer, transfers_bulk_load

    members = db.session.execute(
        select(Member.id, Member.neighbourhood_id, Member.created_at)
        .where(Member.ring_id == ring.id, Member.status.in_((MemberStatus.ACTIVE, MemberStatus.LEAVING,
                                                             MemberStatus.INACTIVE, MemberStatus.LEFT)))
    ).all()
    existing = set(db.session.scalars(select(Account.member_id).where(Account.ring_id == ring.id)))
    new_accounts = [
        {"ring_id": ring.id, "member_id": member_id, "kind": "member", "status": "active",
         "balance": 0, "version": 0, "created_at": joined}
        for member_id, _, joined in members if member_id not in existing
    ]
    if new_accounts:
        db.session.execute(insert(Account), new_accounts)
    account_of = dict(db.session.execute(
        select(Account.member_id, Account.id).where(Account.ring_id == ring.id, Account.member_id.is_not(None))
    ).all())
    people = [(account_of[m], wijk, joined) for m, wijk, joined in members]
    by_wijk: dict[int, list] = {}
    for person in people:
        by_wijk.setdefault(person[1], []).append(person)
    span = (now - start).total_seconds()
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))

    def history():
        for moment in moments:
            for _attempt in range(5):  # both must have joined by then
                payer = rng.choice(people)
                pool = by_wijk[payer[1]] if rng.random() < 0.6 else people
                payee = rng.choice(pool)
                if payee[0] != payer[0] and moment >= max(payer[2], payee[2]):
                    what, amounts = rng.choice(HELP)
                    yield HistoricalTransfer(payer[0], payee[0], rng.choice(amounts), moment, what)
                    break

    written, _skipped = transfers_bulk_load(ring=ring, transfers=history(), on_limit="skip")
    return written


def _demo_ledger_moments(ring: Ring, rng: random.Random, admin: User) -> None:
    """What a living ring also has: pending payment requests, a coordinator's booking on
    behalf of a member and a reversal, all through the ledger's services."""
    from ruilkring.ledger import services

    coordinator = db.session.scalar(select(Member).join(User, User.id == Member.user_id).where(
        Member.ring_id == ring.id, User.email == "coordinator@example.org"))
    member = db.session.scalar(select(Member).join(User, User.id == Member.user_id).where(
        Member.ring_id == ring.id, User.email == "lid@example.org"))
    others = db.session.scalars(
        select(Member).where(Member.ring_id == ring.id, Member.status == MemberStatus.ACTIVE,
                             Member.id.not_in((coordinator.id, member.id))).order_by(Member.id).limit(6)
    ).all()
    for account_holder in (coordinator, member):
        services.account_open(member=account_holder)
    services.payment_request_create(payee=others[0], payer=member, amount=60, description="Ramen gelapt")
    services.payment_request_create(payee=member, payer=others[1], amount=90, description="Tuin gewied")
    services.payment_request_create(payee=others[2], payer=others[3], amount=45, description="Boodschappen")
    services.payment_create(payer=member, payee=others[4], amount=45, description="Fiets gerepareerd",
                            idempotency_key="demo-pay-1")
    services.coordinator_book(payer=others[5], payee=member, amount=120, description="Gezelschap",
                              note="Ruilbriefje op papier; lid heeft geen internet.",
                              booked_by=coordinator.user, idempotency_key="demo-book-1")
    mistake = services.payment_create(payer=others[4], payee=member, amount=30,
                                      description="Per ongeluk dubbel betaald", idempotency_key="demo-pay-2")
    services.transfer_reverse(transfer=mistake, reversed_by=coordinator.user,
                              reason="Lid meldde een dubbele betaling.", idempotency_key="demo-reverse-1")


def _demo_conversations(ring: Ring, now) -> None:
    """A few conversations about listings and between members, through the messages
    services, so the inbox and the unread counter have something to show. The demo
    member ``lid@example.org`` reacted to an offer and got a reply she has not read yet,
    and has a direct message waiting."""
    from ruilkring.messages import services

    def demo_member(email):
        return db.session.scalar(select(Member).join(User, User.id == Member.user_id).where(
            Member.ring_id == ring.id, User.email == email))

    lieke, carla = demo_member("lid@example.org"), demo_member("coordinator@example.org")
    others = db.session.scalars(
        select(Member).where(Member.ring_id == ring.id, Member.status == MemberStatus.ACTIVE,
                             Member.id.not_in((lieke.id, carla.id))).order_by(Member.id).limit(8)
    ).all()

    def listing_of(kind):
        """The first active listing of this kind by an active member other than the two
        demo accounts."""
        return db.session.scalar(
            select(Listing).join(Member, Member.id == Listing.owner_id)
            .where(Listing.ring_id == ring.id, Listing.kind == kind, Listing.status == ListingStatus.ACTIVE,
                   Member.status == MemberStatus.ACTIVE, Member.id.not_in((lieke.id, carla.id)))
            .order_by(Listing.id).limit(1))

    def at(days_ago, hours=0):
        return clock.frozen_at(now - timedelta(days=days_ago, hours=hours))

    offer = listing_of(ListingKind.OFFER)
    with at(3):
        talk = services.conversation_start(
            listing=offer, starter=lieke,
            body="Hallo! Ik heb uw aanbod gezien. Zou u volgende week een keer kunnen? "
                 "Dinsdag- of donderdagmiddag komt mij het beste uit.")
    with at(2, 20):
        services.message_send(conversation=talk, sender=offer.owner,
                              body="Dag Lieke, dat kan! Donderdag om twee uur? Stuur me even uw adres.")
    with at(2, 18):
        services.message_send(conversation=talk, sender=lieke,
                              body="Donderdag om twee uur is prima. Ik woon op de Oudwijkerlaan 12.")
    with at(0, 3):
        services.message_send(conversation=talk, sender=offer.owner,
                              body="Genoteerd. Tot donderdag! Ik neem zelf gereedschap mee.")

    with at(1, 5):
        services.conversation_start_direct(
            starter=others[1], other=lieke,
            body="Hoi Lieke, ik hoorde van Carla dat u veel van tuinen weet. Mag ik u eens iets vragen "
                 "over mijn moestuin?")

    request = listing_of(ListingKind.REQUEST)
    helper = next(member for member in others if member.id != request.owner_id)
    with at(6):
        asked = services.conversation_start(
            listing=request, starter=helper,
            body="Ik kan u hiermee helpen. Zaterdagochtend heb ik tijd, past dat?")
    with at(5, 12):
        services.message_send(conversation=asked, sender=request.owner,
                              body="Wat fijn! Zaterdag om tien uur is goed. Hoe lang denkt u dat het duurt?")
    with at(5, 10):
        services.message_send(conversation=asked, sender=helper,
                              body="Een uur of anderhalf, denk ik. Tot zaterdag!")
    with at(4, 2):
        services.conversation_mark_read(conversation=asked, reader=request.owner)

    with at(8):
        services.conversation_start_direct(
            starter=carla, other=others[-1],
            body="Welkom in de ruilkring! Als u vragen heeft over hoe het werkt, bel of mail me gerust.")
    with at(7, 16):
        conversation = services.conversation_start_direct(
            starter=others[-1], other=carla, body="Dank u wel, Carla. Ik ga eerst eens rondkijken.")
        services.conversation_mark_read(conversation=conversation, reader=carla)


# Per default category: things people offer, and things people ask for.
LISTING_IDEAS = {
    "Klussen": (["Kleine klussen in huis", "Schilderij of plank ophangen"], ["Wie kan mijn kraan repareren?", "Hulp bij behangen"]),
    "Vervoer": (["Rijd u naar de dokter of het ziekenhuis", "Bakfiets te leen met bestuurder"], ["Vervoer naar de markt op zaterdag", "Wie brengt mij naar het station?"]),
    "Tuin": (["Gras maaien en heg knippen", "Tuinadvies en stekjes"], ["Hulp bij het winterklaar maken van de tuin", "Wie wil mijn balkonplanten water geven?"]),
    "Computerhulp": (["Hulp met uw telefoon of tablet", "Computer opschonen en bijwerken"], ["Uitleg over videobellen met mijn kleinkinderen", "Hulp met DigiD"]),
    "Gezelschap": (["Samen wandelen in het park", "Koffie drinken en een praatje"], ["Iemand om mee naar het museum te gaan", "Gezelschap op woensdagmiddag"]),
    "Taal": (["Oefenen met Nederlands praten", "Bijles Engels"], ["Wie helpt mij met een brief in het Nederlands?", "Oefenen voor het inburgeringsexamen"]),
    "Administratie": (["Hulp bij de belastingaangifte", "Papieren ordenen"], ["Hulp met toeslagen aanvragen", "Wie kijkt mee naar mijn post?"]),
    "Koken": (["Soep of maaltijd voor u koken", "Samen taart bakken"], ["Iemand die een keer per week kookt", "Les in Surinaams koken"]),
    "Oppas": (["Oppassen op uw kinderen", "Huis en planten verzorgen tijdens vakantie"], ["Oppas voor dinsdagavond", "Wie past op mijn kat?"]),
    "Huisdieren": (["Hond uitlaten", "Katten voeren als u weg bent"], ["Hulp met het uitlaten van mijn hond", "Wie kan het konijnenhok schoonmaken?"]),
    "Boodschappen": (["Boodschappen doen voor u", "Mee naar de markt"], ["Wekelijks boodschappen bij de supermarkt", "Apotheek ophalen"]),
    "Naaien en repareren": (["Kleding herstellen en inkorten", "Fietsreparatie"], ["Wie kan mijn gordijnen inkorten?", "Lekke band plakken"]),
    "Zorg en gezondheid": (["Even langskomen na een ziekenhuisopname", "Mee naar een afspraak bij de dokter"], ["Iemand die meegaat naar het ziekenhuis", "Hulp na een operatie"]),
    "Creatief en muziek": (["Gitaarles voor beginners", "Samen tekenen of schilderen"], ["Wie wil met mij zingen?", "Hulp bij het maken van een fotoboek"]),
    "Overig": (["Verhuisdozen en hulp bij verhuizen", "Fotograferen op uw feest"], ["Hulp bij opruimen van de zolder", "Wie heeft een ladder te leen?"]),
}


def _demo_listings(ring: Ring, rng: random.Random, now) -> int:
    """Offers and requests of both kinds in every category, by active members."""
    help_of = {name: help_kind for name, help_kind, _care in DEFAULT_CATEGORIES}
    categories = db.session.scalars(select(Category).where(Category.ring_id == ring.id)).all()
    owners = db.session.scalars(
        select(Member.id).where(Member.ring_id == ring.id, Member.status == MemberStatus.ACTIVE)
    ).all()
    rows = []
    for category in categories:
        offers, requests = LISTING_IDEAS[category.name]
        for kind, titles in ((ListingKind.OFFER, offers), (ListingKind.REQUEST, requests)):
            for title in titles:
                created = now - timedelta(days=rng.randint(0, 80), hours=rng.randint(0, 23))
                rows.append({
                    "ring_id": ring.id, "owner_id": rng.choice(owners), "kind": kind, "title": title,
                    "description": f"{title}. Neem gerust contact op via de site; ik ben meestal 's middags thuis.",
                    "category_id": category.id, "help_kind": help_of[category.name],
                    "place": rng.choice(list(ListingPlace)), "status": ListingStatus.ACTIVE,
                    "time_estimate": rng.choice([None, 60, 90, 120]),
                    "valid_until": (created + timedelta(days=91)).date(), "created_at": created,
                    "updated_at": created, "hidden_reason": "",
                })
    db.session.execute(insert(Listing), rows)
    return len(rows)


def _demo_contact_answers(ring: Ring, rng: random.Random) -> None:
    """Most members answer the contact question after a first trade; some do not."""
    from ruilkring.stats.models import ContactAnswer, Tie, TieAnswer
    from ruilkring.stats.ties import ties_rebuild

    answers = (ContactAnswer.YES,) * 7 + (ContactAnswer.BY_SIGHT,) * 4 + (ContactAnswer.NO,) * 8 + (
        ContactAnswer.SKIPPED,)
    rows = []
    for tie_id, low, high in db.session.execute(
            select(Tie.id, Tie.member_low_id, Tie.member_high_id).where(Tie.ring_id == ring.id)):
        for member_id in (low, high):
            if rng.random() < 0.7:
                rows.append({"ring_id": ring.id, "tie_id": tie_id, "member_id": member_id,
                             "answer": rng.choice(answers), "answered_at": clock.now()})
    if rows:
        db.session.execute(insert(TieAnswer), rows)
        ties_rebuild(ring_id=ring.id)  # counts the answers on the ties
