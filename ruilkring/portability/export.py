"""Exports: a whole ring for its coordinators, and a member's own data (AVG right of access).

Both are a ZIP of CSV files, one JSON file with the same rows, and a README.md that
describes every column. Each file is a ``Table``: its columns (name and description) and
the query that selects them, labelled with those names in that order. The CSV writer,
the JSON writer and the README all read the same ``Table``, and the writer checks that
the query's labels are the columns, so the description cannot drift from the data.

The ring export's ``members.csv``, ``transfers.csv`` and ``listings.csv`` are also the
generic import format (``ruilkring.portability.formats.generic``, docs/import.md).

Values: amounts and limits in whole minutes; dates as ``YYYY-MM-DD`` (Dutch time);
moments as ISO 8601 in UTC; yes/no as ``true``/``false``; empty for unknown. E-mail
addresses under the reserved ``.invalid`` domain (erased members, members imported
without an address) are written empty.
"""

import csv
import enum
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, and_, case, cast, false, or_, select
from sqlalchemy.orm import aliased

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.auth.services import is_placeholder_email
from ruilkring.disputes.models import Dispute, DisputeEvent
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, AccountKind, PaymentRequest, Transfer
from ruilkring.listings.models import Category, Listing
from ruilkring.members.models import Member
from ruilkring.messages.models import Conversation, Message
from ruilkring.notifications.models import Notification
from ruilkring.portability.records import SYSTEM_OPENING, SYSTEM_POT
from ruilkring.rings.models import Neighbourhood, Ring
from ruilkring.stats.models import Survey, SurveyParticipation, Tie, TieAnswer

FORMAT_NAME = "ruilkring-export"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Scope:
    """What an export covers: a whole ring, or one member's own data in it."""

    ring: Ring
    member: Member | None = None


@dataclass(frozen=True)
class Column:
    name: str
    description: Any  # a lazy translated string
    convert: Callable[[Any], Any] | None = None  # applied to the selected value first


@dataclass(frozen=True)
class Table:
    name: str  # the file is <name>.csv; the JSON key is <name>
    description: Any
    columns: tuple[Column, ...]
    query: Callable[[Scope], Select]  # one labelled column per Column, in order

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def local_date(moment: datetime | None) -> date | None:
    """The date of ``moment`` in Dutch time (the configured display time zone)."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def _real_email(email: str) -> str:
    return "" if is_placeholder_email(email) else email


def _ring_member_id(account: type[Account]):
    """A member's id as text, or SYSTEM_POT / SYSTEM_OPENING for the ring's own accounts."""
    return case(
        (account.kind == AccountKind.POT, SYSTEM_POT),
        (account.kind == AccountKind.OPENING, SYSTEM_OPENING),
        else_=cast(account.member_id, String),
    )


# Queries


def _members_query(scope: Scope) -> Select:
    query = (
        select(
            Member.id.label("id"), User.name.label("name"), User.email.label("email"),
            User.phone.label("phone"), User.address.label("address"), Member.status.label("status"),
            Member.role.label("role"), Neighbourhood.name.label("neighbourhood"),
            Member.birth_year.label("birth_year"),
            # approved_at when admitted, else when they signed up
            case((Member.approved_at.is_(None), Member.created_at), else_=Member.approved_at)
            .label("joined_on"),
            Member.bio.label("bio"), Member.share_email.label("share_email"),
            Member.share_phone.label("share_phone"), Member.share_address.label("share_address"),
            Account.min_balance.label("min_balance_minutes"), Account.max_balance.label("max_balance_minutes"),
            Account.balance.label("balance_minutes"),
        )
        .join(User, User.id == Member.user_id)
        .outerjoin(Neighbourhood, Neighbourhood.id == Member.neighbourhood_id)
        .outerjoin(Account, Account.member_id == Member.id)
        .where(Member.ring_id == scope.ring.id)
        .order_by(Member.id)
    )
    if scope.member is not None:
        query = query.where(Member.id == scope.member.id)
    return query


def _accounts_query(scope: Scope) -> Select:
    return (
        select(Account.id.label("id"), Account.member_id.label("member_id"), Account.kind.label("kind"),
               Account.status.label("status"), Account.balance.label("balance_minutes"),
               Account.version.label("version"), Account.min_balance.label("min_balance_minutes"),
               Account.max_balance.label("max_balance_minutes"), Account.created_at.label("created_at"))
        .where(Account.ring_id == scope.ring.id)
        .order_by(Account.id)
    )


def _transfers_query(scope: Scope) -> Select:
    payer, payee = aliased(Account), aliased(Account)
    payer_member, payee_member = aliased(Member), aliased(Member)
    payer_user, payee_user = aliased(User), aliased(User)
    query = (
        select(
            Transfer.id.label("id"), Transfer.occurred_on.label("occurred_on"),
            _ring_member_id(payer).label("payer_id"), payer_user.name.label("payer_name"),
            _ring_member_id(payee).label("payee_id"), payee_user.name.label("payee_name"),
            Transfer.amount.label("amount_minutes"), Transfer.kind.label("kind"),
            Transfer.description.label("description"), Transfer.reason.label("reason"),
            Transfer.reverses_id.label("reverses_id"), Transfer.listing_id.label("listing_id"),
            Transfer.limit_override.label("limit_override"), Transfer.created_at.label("created_at"),
        )
        .join(payer, payer.id == Transfer.payer_account_id)
        .join(payee, payee.id == Transfer.payee_account_id)
        .outerjoin(payer_member, payer_member.id == payer.member_id)
        .outerjoin(payer_user, payer_user.id == payer_member.user_id)
        .outerjoin(payee_member, payee_member.id == payee.member_id)
        .outerjoin(payee_user, payee_user.id == payee_member.user_id)
        .where(Transfer.ring_id == scope.ring.id)
        .order_by(Transfer.id)
    )
    if scope.member is not None:
        query = query.where(or_(payer.member_id == scope.member.id, payee.member_id == scope.member.id))
    return query


def _listings_query(scope: Scope) -> Select:
    query = (
        select(Listing.id.label("id"), Listing.owner_id.label("owner_id"), Listing.kind.label("kind"),
               Listing.title.label("title"), Listing.description.label("description"),
               Category.name.label("category"), Listing.help_kind.label("help_kind"),
               Listing.place.label("place"), Listing.status.label("status"),
               Listing.time_estimate.label("time_estimate_minutes"), Listing.valid_until.label("valid_until"),
               Listing.created_at.label("created_on"))
        .join(Category, Category.id == Listing.category_id)
        .where(Listing.ring_id == scope.ring.id)
        .order_by(Listing.id)
    )
    if scope.member is not None:
        query = query.where(Listing.owner_id == scope.member.id)
    return query


def _categories_query(scope: Scope) -> Select:
    return (
        select(Category.id.label("id"), Category.name.label("name"), Category.position.label("position"),
               Category.care.label("care"), Category.active.label("active"))
        .where(Category.ring_id == scope.ring.id)
        .order_by(Category.position, Category.id)
    )


def _member_disputes(scope: Scope):
    """The disputes the member is a party to: opened them, or paid or was paid in the transfer."""
    payer, payee = aliased(Account), aliased(Account)
    return (
        select(Dispute.id)
        .join(Transfer, Transfer.id == Dispute.transfer_id)
        .join(payer, payer.id == Transfer.payer_account_id)
        .join(payee, payee.id == Transfer.payee_account_id)
        .where(Dispute.ring_id == scope.ring.id, or_(
            Dispute.opened_by_id == scope.member.id,
            payer.member_id == scope.member.id, payee.member_id == scope.member.id,
        ))
    )


def _disputes_query(scope: Scope) -> Select:
    mediator = aliased(User)
    query = (
        select(Dispute.id.label("id"), Dispute.transfer_id.label("transfer_id"),
               Dispute.opened_by_id.label("opened_by_id"), Dispute.reason.label("reason"),
               Dispute.asked.label("asked"), Dispute.explanation.label("explanation"),
               Dispute.status.label("status"), mediator.name.label("mediator_name"),
               Dispute.outcome.label("outcome"), Dispute.outcome_amount.label("outcome_amount_minutes"),
               Dispute.outcome_back_to_payer.label("outcome_back_to_payer"),
               Dispute.outcome_note.label("outcome_note"),
               Dispute.resolution_transfer_id.label("resolution_transfer_id"),
               Dispute.created_at.label("created_at"), Dispute.closed_at.label("closed_at"))
        .outerjoin(mediator, mediator.id == Dispute.mediator_id)
        .where(Dispute.ring_id == scope.ring.id)
        .order_by(Dispute.id)
    )
    if scope.member is not None:
        query = query.where(Dispute.id.in_(_member_disputes(scope)))
    return query


def _dispute_events_query(scope: Scope) -> Select:
    query = (
        select(DisputeEvent.id.label("id"), DisputeEvent.dispute_id.label("dispute_id"),
               DisputeEvent.kind.label("kind"), User.name.label("author_name"),
               DisputeEvent.body.label("body"), DisputeEvent.private.label("private"),
               DisputeEvent.created_at.label("created_at"))
        .join(Dispute, Dispute.id == DisputeEvent.dispute_id)
        .outerjoin(User, User.id == DisputeEvent.author_id)
        .where(Dispute.ring_id == scope.ring.id)
        .order_by(DisputeEvent.id)
    )
    if scope.member is not None:
        # Coordinators' private notes are not the parties' data to see.
        query = query.where(Dispute.id.in_(_member_disputes(scope)), DisputeEvent.private == false())
    return query


def _ties_query(scope: Scope) -> Select:
    # A pair whose trades were all reversed keeps its row (and contact answers), but did not trade.
    return (
        select(Tie.member_low_id.label("member_low_id"), Tie.member_high_id.label("member_high_id"),
               Tie.first_transfer_id.label("first_transfer_id"), Tie.first_date.label("first_date"),
               Tie.last_date.label("last_date"), Tie.trade_count.label("trade_count"),
               Tie.minutes.label("minutes"))
        .where(Tie.ring_id == scope.ring.id, Tie.trade_count > 0)
        .order_by(Tie.member_low_id, Tie.member_high_id)
    )


def _messages_query(scope: Scope) -> Select:
    sender, recipient = aliased(Member), aliased(Member)
    sender_user, recipient_user = aliased(User), aliased(User)
    recipient_id = case((Conversation.starter_id == Message.sender_id, Conversation.other_id),
                        else_=Conversation.starter_id)
    return (
        select(Message.id.label("id"), Message.conversation_id.label("conversation_id"),
               Conversation.listing_id.label("listing_id"), Message.sender_id.label("sender_id"),
               sender_user.name.label("sender_name"), recipient.id.label("recipient_id"),
               recipient_user.name.label("recipient_name"), Message.body.label("body"),
               Message.created_at.label("created_at"))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(sender, sender.id == Message.sender_id)
        .join(sender_user, sender_user.id == sender.user_id)
        .join(recipient, recipient.id == recipient_id)
        .join(recipient_user, recipient_user.id == recipient.user_id)
        .where(Conversation.ring_id == scope.ring.id,
               or_(Conversation.starter_id == scope.member.id, Conversation.other_id == scope.member.id))
        .order_by(Message.id)
    )


def _payment_requests_query(scope: Scope) -> Select:
    counterpart = aliased(Member)
    is_payer = PaymentRequest.payer_id == scope.member.id
    return (
        select(PaymentRequest.id.label("id"), case((is_payer, "payer"), else_="payee").label("role"),
               counterpart.id.label("counterpart_id"), User.name.label("counterpart_name"),
               PaymentRequest.amount.label("amount_minutes"), PaymentRequest.description.label("description"),
               PaymentRequest.status.label("status"), PaymentRequest.decline_reason.label("decline_reason"),
               PaymentRequest.listing_id.label("listing_id"), PaymentRequest.transfer_id.label("transfer_id"),
               PaymentRequest.created_at.label("created_at"), PaymentRequest.expires_at.label("expires_at"),
               PaymentRequest.decided_at.label("decided_at"))
        .join(counterpart, counterpart.id == case((is_payer, PaymentRequest.payee_id),
                                                  else_=PaymentRequest.payer_id))
        .join(User, User.id == counterpart.user_id)
        .where(PaymentRequest.ring_id == scope.ring.id,
               or_(is_payer, PaymentRequest.payee_id == scope.member.id))
        .order_by(PaymentRequest.id)
    )


def _notifications_query(scope: Scope) -> Select:
    return (
        select(Notification.id.label("id"), Notification.text.label("text"), Notification.link.label("link"),
               Notification.created_at.label("created_at"), Notification.read_at.label("read_at"))
        .where(Notification.ring_id == scope.ring.id, Notification.user_id == scope.member.user_id)
        .order_by(Notification.id)
    )


def _contact_answers_query(scope: Scope) -> Select:
    other = aliased(Member)
    return (
        select(other.id.label("other_member_id"), User.name.label("other_member_name"),
               TieAnswer.answer.label("answer"), TieAnswer.answered_at.label("answered_at"))
        .join(Tie, Tie.id == TieAnswer.tie_id)
        .join(other, other.id == case((Tie.member_low_id == scope.member.id, Tie.member_high_id),
                                      else_=Tie.member_low_id))
        .join(User, User.id == other.user_id)
        .where(TieAnswer.ring_id == scope.ring.id, TieAnswer.member_id == scope.member.id)
        .order_by(TieAnswer.id)
    )


def _survey_participations_query(scope: Scope) -> Select:
    return (
        select(Survey.id.label("survey_id"), Survey.opens_on.label("opens_on"),
               Survey.closes_on.label("closes_on"))
        .join(SurveyParticipation, SurveyParticipation.survey_id == Survey.id)
        .where(Survey.ring_id == scope.ring.id, SurveyParticipation.member_id == scope.member.id)
        .order_by(Survey.opens_on, Survey.id)
    )


def _audit_query(scope: Scope) -> Select:
    return (
        select(AuditEvent.id.label("id"), AuditEvent.action.label("action"), User.name.label("actor_name"),
               AuditEvent.old.label("old"), AuditEvent.new.label("new"), AuditEvent.reason.label("reason"),
               AuditEvent.created_at.label("created_at"))
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(and_(AuditEvent.ring_id == scope.ring.id, AuditEvent.subject_member_id == scope.member.id))
        .order_by(AuditEvent.id)
    )


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


# Tables

MEMBERS = Table("members", _l("De leden van de kring, met hun rekening."), (
    Column("id", _l("Nummer van het lid in deze kring.")),
    Column("name", _l("Naam.")),
    Column("email", _l("E-mailadres; leeg als het lid er geen heeft of de gegevens zijn gewist."), _real_email),
    Column("phone", _l("Telefoonnummer.")),
    Column("address", _l("Adres.")),
    Column("status", _l("pending (aangemeld), declined (afgewezen), active (actief), inactive "
                        "(gepauzeerd), leaving (vertrekt) of left (vertrokken).")),
    Column("role", _l("member (lid) of coordinator (coördinator).")),
    Column("neighbourhood", _l("Naam van de wijk; leeg als onbekend.")),
    Column("birth_year", _l("Geboortejaar; leeg als onbekend.")),
    Column("joined_on", _l("Datum van toelating, of van aanmelding als het lid nog niet is toegelaten."),
           local_date),
    Column("bio", _l("De tekst op het profiel.")),
    Column("share_email", _l("Deelt het e-mailadres met andere leden (true/false).")),
    Column("share_phone", _l("Deelt het telefoonnummer met andere leden (true/false).")),
    Column("share_address", _l("Deelt het adres met andere leden (true/false).")),
    Column("min_balance_minutes", _l("Persoonlijke ondergrens in minuten; leeg: de grens van de kring.")),
    Column("max_balance_minutes", _l("Persoonlijke bovengrens in minuten; leeg: de grens van de kring.")),
    Column("balance_minutes", _l("Saldo in minuten; leeg als het lid (nog) geen rekening heeft.")),
), _members_query)

ACCOUNTS = Table("accounts", _l("Alle rekeningen: die van de leden en de eigen rekeningen van de kring."), (
    Column("id", _l("Nummer van de rekening.")),
    Column("member_id", _l("Nummer van het lid; leeg voor een rekening van de kring zelf.")),
    Column("kind", _l("member (lid), pot (de pot van de kring) of opening (beginsaldi uit een ander "
                      "systeem).")),
    Column("status", _l("active, frozen (bevroren) of closed (gesloten).")),
    Column("balance_minutes", _l("Saldo in minuten.")),
    Column("version", _l("Aantal boekingen op de rekening.")),
    Column("min_balance_minutes", _l("Persoonlijke ondergrens in minuten; leeg: de grens van de kring "
                                     "(of geen grens voor een rekening van de kring).")),
    Column("max_balance_minutes", _l("Persoonlijke bovengrens in minuten; leeg: de grens van de kring "
                                     "(of geen grens voor een rekening van de kring).")),
    Column("created_at", _l("Moment van openen (UTC).")),
), _accounts_query)

TRANSFERS = Table("transfers", _l("Alle transacties, in volgorde van boeking."), (
    Column("id", _l("Nummer van de transactie.")),
    Column("occurred_on", _l("Datum van de ruil.")),
    Column("payer_id", _l("Nummer van het lid dat betaalde, of @pot / @opening voor een rekening van de kring.")),
    Column("payer_name", _l("Naam van de betaler.")),
    Column("payee_id", _l("Nummer van het lid dat ontving, of @pot / @opening voor een rekening van de kring.")),
    Column("payee_name", _l("Naam van de ontvanger.")),
    Column("amount_minutes", _l("Bedrag in minuten, groter dan nul.")),
    Column("kind", _l("trade (ruil), fee (bijdrage), demurrage, reversal (terugboeking), correction "
                      "(correctie) of opening (beginsaldo).")),
    Column("description", _l("Omschrijving.")),
    Column("reason", _l("Reden die een coördinator opgaf (bij boeken namens een lid, terugboeken, corrigeren "
                        "of een grens overschrijden).")),
    Column("reverses_id", _l("Bij een terugboeking: de transactie die wordt teruggeboekt.")),
    Column("listing_id", _l("Het aanbod of de vraag waar de ruil over ging.")),
    Column("limit_override", _l("De transactie mocht een grens overschrijden (true/false).")),
    Column("created_at", _l("Moment van boeking (UTC).")),
), _transfers_query)

LISTINGS = Table("listings", _l("Aanbod en vraag."), (
    Column("id", _l("Nummer van de advertentie.")),
    Column("owner_id", _l("Nummer van het lid van wie de advertentie is.")),
    Column("kind", _l("offer (aanbod) of request (vraag).")),
    Column("title", _l("Titel.")),
    Column("description", _l("Beschrijving.")),
    Column("category", _l("Naam van de categorie.")),
    Column("help_kind", _l("Soort hulp: practical (praktisch), social_emotional (sociaal-emotioneel) of "
                           "informative (informatief).")),
    Column("place", _l("Waar: at_home (bij de ander thuis), at_my_place (bij mij), online of "
                       "in_neighbourhood (ergens in de wijk).")),
    Column("status", _l("active, paused (gepauzeerd), closed (afgesloten) of hidden (verborgen door een "
                        "coördinator).")),
    Column("time_estimate_minutes", _l("Geschatte tijd in minuten; leeg als niet opgegeven.")),
    Column("valid_until", _l("Zichtbaar tot en met deze datum.")),
    Column("created_on", _l("Datum van plaatsen."), local_date),
), _listings_query)

CATEGORIES = Table("categories", _l("De categorieën van de kring."), (
    Column("id", _l("Nummer van de categorie.")),
    Column("name", _l("Naam.")),
    Column("position", _l("Plaats in de lijst.")),
    Column("care", _l("Gaat over zorg of gezondheid (true/false).")),
    Column("active", _l("Kan nog worden gekozen (true/false).")),
), _categories_query)

DISPUTES = Table("disputes", _l("Geschillen over transacties."), (
    Column("id", _l("Nummer van het geschil.")),
    Column("transfer_id", _l("De betwiste transactie.")),
    Column("opened_by_id", _l("Het lid dat het geschil begon.")),
    Column("reason", _l("not_delivered (niet geleverd), wrong_amount (verkeerd bedrag), not_agreed (niet "
                        "afgesproken) of other (anders).")),
    Column("asked", _l("Wat gevraagd werd: full_reversal (alles terug), partial_correction (deels terug) "
                       "of talk (een gesprek).")),
    Column("explanation", _l("Toelichting van wie het geschil begon.")),
    Column("status", _l("open, in_mediation (in bemiddeling), resolved (opgelost) of withdrawn "
                        "(ingetrokken).")),
    Column("mediator_name", _l("De bemiddelende coördinator.")),
    Column("outcome", _l("Uitkomst: agreement (overeengekomen), full_reversal, partial_correction of "
                         "no_action (geen actie).")),
    Column("outcome_amount_minutes", _l("Bij een gedeeltelijke correctie: het bedrag in minuten.")),
    Column("outcome_back_to_payer", _l("Bij een gedeeltelijke correctie: de ontvanger betaalt terug "
                                       "(true/false).")),
    Column("outcome_note", _l("Toelichting bij de uitkomst.")),
    Column("resolution_transfer_id", _l("De transactie die de uitkomst boekte.")),
    Column("created_at", _l("Moment van openen (UTC).")),
    Column("closed_at", _l("Moment van afsluiten (UTC).")),
), _disputes_query)

DISPUTE_EVENTS = Table("dispute_events", _l("Het verloop van elk geschil."), (
    Column("id", _l("Nummer van de stap.")),
    Column("dispute_id", _l("Het geschil.")),
    Column("kind", _l("opened, response (reactie van een partij), message (bericht van een coördinator), "
                      "note (notitie van een coördinator), taken, assigned, resolved of withdrawn.")),
    Column("author_name", _l("Wie het schreef of deed.")),
    Column("body", _l("De tekst.")),
    Column("private", _l("Alleen voor coördinatoren (true/false).")),
    Column("created_at", _l("Moment (UTC).")),
), _dispute_events_query)

TIES = Table("ties", _l("Paren leden die met elkaar ruilden en van wie minstens één ruil nog staat (voor de "
                         "sociale effecten)."), (
    Column("member_low_id", _l("Het lid met het laagste nummer.")),
    Column("member_high_id", _l("Het lid met het hoogste nummer.")),
    Column("first_transfer_id", _l("Hun eerste ruil die nog staat.")),
    Column("first_date", _l("Datum van die eerste ruil.")),
    Column("last_date", _l("Datum van hun laatste ruil.")),
    Column("trade_count", _l("Aantal ruilen dat nog staat.")),
    Column("minutes", _l("Totaal van die ruilen in minuten.")),
), _ties_query)

MESSAGES = Table("messages", _l("Berichten die u stuurde of ontving."), (
    Column("id", _l("Nummer van het bericht.")),
    Column("conversation_id", _l("Het gesprek waar het bij hoort.")),
    Column("listing_id", _l("Het aanbod of de vraag waar het gesprek over gaat.")),
    Column("sender_id", _l("Nummer van de afzender.")),
    Column("sender_name", _l("Naam van de afzender.")),
    Column("recipient_id", _l("Nummer van de ontvanger.")),
    Column("recipient_name", _l("Naam van de ontvanger.")),
    Column("body", _l("De tekst.")),
    Column("created_at", _l("Moment van versturen (UTC).")),
), _messages_query)

AUDIT = Table("audit", _l("Wat coördinatoren en beheerders over u vastlegden in het logboek."), (
    Column("id", _l("Nummer van de regel.")),
    Column("action", _l("De handeling, bijvoorbeeld member.approve of account.set_limits.")),
    Column("actor_name", _l("Wie het deed; leeg voor het systeem.")),
    Column("old", _l("De oude waarden (JSON)."), _json_text),
    Column("new", _l("De nieuwe waarden (JSON)."), _json_text),
    Column("reason", _l("De opgegeven reden.")),
    Column("created_at", _l("Moment (UTC).")),
), _audit_query)

PAYMENT_REQUESTS = Table("payment_requests", _l("Betaalverzoeken die u stuurde of kreeg."), (
    Column("id", _l("Nummer van het betaalverzoek.")),
    Column("role", _l("payer (u werd gevraagd te betalen) of payee (u vroeg om betaling).")),
    Column("counterpart_id", _l("Nummer van het andere lid.")),
    Column("counterpart_name", _l("Naam van het andere lid.")),
    Column("amount_minutes", _l("Bedrag in minuten.")),
    Column("description", _l("Omschrijving.")),
    Column("status", _l("pending (wacht op antwoord), accepted (betaald), declined (geweigerd), cancelled "
                        "(ingetrokken) of expired (verlopen).")),
    Column("decline_reason", _l("Bij een weigering: de opgegeven reden.")),
    Column("listing_id", _l("Het aanbod of de vraag waar het verzoek over ging.")),
    Column("transfer_id", _l("Bij een betaald verzoek: de transactie.")),
    Column("created_at", _l("Moment van versturen (UTC).")),
    Column("expires_at", _l("Moment waarop het verzoek verloopt als er geen antwoord komt (UTC).")),
    Column("decided_at", _l("Moment van betalen, weigeren, intrekken of verlopen (UTC).")),
), _payment_requests_query)

NOTIFICATIONS = Table("notifications", _l("Meldingen die u in deze kring kreeg."), (
    Column("id", _l("Nummer van de melding.")),
    Column("text", _l("De tekst.")),
    Column("link", _l("De pagina waar de melding naar verwijst.")),
    Column("created_at", _l("Moment van de melding (UTC).")),
    Column("read_at", _l("Moment van lezen (UTC); leeg als nog niet gelezen.")),
), _notifications_query)

CONTACT_ANSWERS = Table("contact_answers", _l("Uw antwoorden op de vraag of u iemand met wie u ruilde al "
                                              "kende."), (
    Column("other_member_id", _l("Nummer van het lid met wie u ruilde.")),
    Column("other_member_name", _l("Naam van dat lid.")),
    Column("answer", _l("yes (ja), by_sight (van gezicht), no (nee) of skipped (zeg ik liever niet).")),
    Column("answered_at", _l("Moment van antwoorden (UTC).")),
), _contact_answers_query)

SURVEY_PARTICIPATIONS = Table("survey_participations", _l(
    "De enquêtes van de kring die u invulde. Alleen dát u meedeed: uw antwoorden zijn anoniem bewaard, "
    "zonder verband met u, en kunnen daarom niet aan u worden gekoppeld of meegegeven."), (
    Column("survey_id", _l("Nummer van de enquête.")),
    Column("opens_on", _l("Eerste dag van de enquête.")),
    Column("closes_on", _l("Laatste dag van de enquête.")),
), _survey_participations_query)

# data.json: besides a list of rows per table under the table's name, these keys. The
# README describes them from here; the ring's settings are read with each column's convert.
HEADER = (
    Column("format", _l("ruilkring-export (de export van een kring) of ruilkring-export-member (de eigen "
                        "gegevens van een lid).")),
    Column("version", _l("Versie van deze indeling (nu %(version)d); die gaat omhoog als kolommen van betekenis "
                         "veranderen.", version=FORMAT_VERSION)),
    Column("exported_at", _l("Moment van de export (UTC).")),
    Column("ring", _l("De kring en zijn instellingen (hieronder); in de eigen gegevens van een lid alleen slug "
                      "en name.")),
)
RING_SETTINGS = (
    Column("slug", _l("De korte naam van de kring in de webadressen (/kring/<slug>)."), attrgetter("slug")),
    Column("name", _l("Naam van de kring."), attrgetter("name")),
    Column("municipality", _l("Naam van de gemeente waar de kring bij hoort."), attrgetter("municipality.name")),
    Column("currency_name", _l("Naam van de eenheid, bijvoorbeeld uur."), attrgetter("currency_name")),
    Column("default_min_balance_minutes", _l("Ondergrens van het saldo voor leden zonder eigen grens, in "
                                             "minuten."), attrgetter("default_min_balance")),
    Column("default_max_balance_minutes", _l("Bovengrens van het saldo voor leden zonder eigen grens, in "
                                             "minuten."), attrgetter("default_max_balance")),
    Column("neighbourhoods", _l("Namen van de wijken van de kring (een lijst)."),
           lambda ring: [n.name for n in ring.neighbourhoods]),
    Column("description", _l("Beschrijving van de kring."), attrgetter("description")),
    Column("house_rules", _l("Huisregels van de kring."), attrgetter("house_rules")),
    Column("payment_request_days", _l("Aantal dagen dat een betaalverzoek open blijft."),
           attrgetter("payment_request_days")),
    Column("dispute_days", _l("Aantal dagen na een transactie waarin een geschil kan worden begonnen."),
           attrgetter("dispute_days")),
)

RING_TABLES = (MEMBERS, ACCOUNTS, TRANSFERS, LISTINGS, CATEGORIES, DISPUTES, DISPUTE_EVENTS, TIES)
MEMBER_TABLES = (MEMBERS, TRANSFERS, PAYMENT_REQUESTS, LISTINGS, MESSAGES, NOTIFICATIONS, DISPUTES, DISPUTE_EVENTS,
                 CONTACT_ANSWERS, SURVEY_PARTICIPATIONS, AUDIT)


# Writing


def _cell(value) -> Any:
    """A value as JSON has it: enums by value, dates and moments in ISO 8601."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def table_rows(table: Table, scope: Scope) -> Iterator[list]:
    """The table's rows as lists of JSON values, in column order."""
    result = db.session.execute(table.query(scope).execution_options(yield_per=2000))
    if list(result.keys()) != table.column_names:
        raise AssertionError(f"{table.name}: query selects {list(result.keys())}")
    converters = [column.convert for column in table.columns]
    for row in result:
        yield [_cell(convert(value) if convert else value) for convert, value in zip(converters, row, strict=True)]


def readme(tables: tuple[Table, ...], *, title: str, intro: str, settings: tuple[Column, ...] = ()) -> str:
    """The README.md of an export: every file and every column, from the tables themselves,
    and the keys of data.json (``settings``: those under ``ring``, when described)."""
    lines = [f"# {title}", "", intro, "",
             _("Bedragen en grenzen staan in hele minuten (90 is 1:30 uur). Datums zijn JJJJ-MM-DD "
               "(Nederlandse tijd), momenten ISO 8601 in UTC, ja/nee is true/false, en een leeg veld "
               "betekent onbekend of niet van toepassing. Het bestand %(json)s bevat dezelfde rijen als "
               "de CSV-bestanden.", json="data.json"), ""]
    for table in tables:
        lines += [f"## {table.filename}", "", str(table.description), "",
                  f"| {_('kolom')} | {_('betekenis')} |", "|---|---|"]
        lines += [f"| `{column.name}` | {column.description} |" for column in table.columns]
        lines.append("")
    lines += ["## data.json", "", _("Per bestand een lijst met dezelfde rijen als de CSV, onder de naam van het "
                                    "bestand (bijvoorbeeld %(name)s), en deze sleutels:", name='"members"'), "",
              f"| {_('sleutel')} | {_('betekenis')} |", "|---|---|"]
    lines += [f"| `{column.name}` | {column.description} |" for column in HEADER]
    lines += [f"| `ring.{column.name}` | {column.description} |" for column in settings]
    lines.append("")
    return "\n".join(lines)


def _write_zip(target: IO[bytes], tables: tuple[Table, ...], scope: Scope, *, header: dict, title: str,
               intro: str, settings: tuple[Column, ...] = ()) -> dict[str, int]:
    """Write the ZIP (CSV per table, data.json, README.md) to ``target``; returns row counts."""
    counts = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as data:
        data.write(json.dumps(header, ensure_ascii=False)[:-1])
        for table in tables:
            data.write(f', "{table.name}": [')
            count = 0
            with archive.open(table.filename, "w", force_zip64=True) as raw, \
                    io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
                writer = csv.writer(text)
                writer.writerow(table.column_names)
                for row in table_rows(table, scope):
                    writer.writerow([_csv_cell(value) for value in row])
                    data.write(("," if count else "")
                               + json.dumps(dict(zip(table.column_names, row, strict=True)), ensure_ascii=False))
                    count += 1
            data.write("]")
            counts[table.name] = count
        data.write("}")
        data.seek(0)
        with archive.open("data.json", "w", force_zip64=True) as raw:
            while chunk := data.read(1 << 20):
                raw.write(chunk.encode())
        archive.writestr("README.md", readme(tables, title=title, intro=intro, settings=settings))
    return counts


def _ring_header(ring: Ring) -> dict:
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "exported_at": _cell(clock.now()),
            "ring": {setting.name: setting.convert(ring) for setting in RING_SETTINGS}}


def ring_export_write(*, ring: Ring, target: IO[bytes], exported_by: User | None = None) -> dict[str, int]:
    """Write the whole ring's export ZIP to ``target`` (a binary file); returns row counts per
    table. With ``exported_by`` the export is recorded in the audit log (the caller commits)."""
    counts = _write_zip(
        target, RING_TABLES, Scope(ring=ring), header=_ring_header(ring), settings=RING_SETTINGS,
        title=_("Export van %(ring)s", ring=ring.name),
        intro=_("Alle gegevens van de kring op %(date)s: leden, rekeningen met grenzen, transacties, "
                "aanbod en vraag, categorieën, geschillen en ruilcontacten. De instellingen van de kring "
                "staan in data.json onder \"ring\".", date=clock.today().isoformat()),
    )
    if exported_by is not None:
        audit_record(actor=exported_by, action="ring.export", ring=ring, new=counts)
    return counts


def ring_export_zip(*, ring: Ring, exported_by: User | None = None) -> bytes:
    """The whole ring's export as ZIP bytes (see ``ring_export_write``)."""
    buffer = io.BytesIO()
    ring_export_write(ring=ring, target=buffer, exported_by=exported_by)
    return buffer.getvalue()


def member_export_zip(*, member: Member) -> bytes:
    """A member's own data in one ring (AVG right of access): profile and account, their
    transfers, payment requests, listings, messages sent and received, notifications,
    disputes they are party to (without coordinators' private notes), contact answers, the
    surveys they took part in (never their answers: those are anonymous) and the audit
    entries about them."""
    buffer = io.BytesIO()
    header = {"format": FORMAT_NAME + "-member", "version": FORMAT_VERSION, "exported_at": _cell(clock.now()),
              "ring": {"slug": member.ring.slug, "name": member.ring.name}}
    _write_zip(
        buffer, MEMBER_TABLES, Scope(ring=member.ring, member=member), header=header,
        title=_("Uw gegevens bij %(ring)s", ring=member.ring.name),
        intro=_("Alles wat de kring over u bewaart, op %(date)s. Het bestand members.csv bevat uw eigen "
                "profiel en rekening.", date=clock.today().isoformat()),
    )
    return buffer.getvalue()
