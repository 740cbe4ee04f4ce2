"""Forms for opening and handling disputes."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ruilkring.disputes.models import DisputeOutcome, DisputeReason, DisputeRequest
from ruilkring.ledger.amounts import MinutesField
from ruilkring.ledger.forms import IdempotentForm

REASON_CHOICES = [
    (DisputeReason.NOT_DELIVERED.value, _l("De hulp is niet (helemaal) gegeven")),
    (DisputeReason.WRONG_AMOUNT.value, _l("Het bedrag klopt niet")),
    (DisputeReason.NOT_AGREED.value, _l("Hier heb ik niet mee ingestemd")),
    (DisputeReason.OTHER.value, _l("Iets anders")),
]
REQUEST_CHOICES = [
    (DisputeRequest.FULL_REVERSAL.value, _l("De hele transactie terugdraaien")),
    (DisputeRequest.PARTIAL_CORRECTION.value, _l("Een deel terug, of een correctie")),
    (DisputeRequest.TALK.value, _l("Alleen een gesprek")),
]
OUTCOME_CHOICES = [
    (DisputeOutcome.AGREEMENT.value, _l("Eens geworden, niets veranderen")),
    (DisputeOutcome.FULL_REVERSAL.value, _l("De hele transactie terugdraaien")),
    (DisputeOutcome.PARTIAL_CORRECTION.value, _l("Een correctie boeken")),
    (DisputeOutcome.NO_ACTION.value, _l("Geen actie (met reden)")),
]


class OpenForm(FlaskForm):
    reason = RadioField(_l("Wat is er mis?"), choices=REASON_CHOICES,
                        validators=[InputRequired(message=_l("Kies wat er mis is."))])
    asked = RadioField(_l("Wat wilt u?"), choices=REQUEST_CHOICES,
                       validators=[InputRequired(message=_l("Kies wat u wilt."))])
    explanation = TextAreaField(_l("Uitleg"), validators=[
        DataRequired(message=_l("Leg kort uit wat er mis is.")), Length(max=5000)])


def _text_field(label, id=None):
    return TextAreaField(label, id=id, validators=[
        DataRequired(message=_l("Schrijf iets.")),
        Length(max=5000, message=_l("De tekst is te lang (hoogstens %(max)d tekens).")),
    ])


class TextForm(FlaskForm):
    """A party's response."""

    body = _text_field(_l("Tekst"))


# A coordinator's message and note are sent as ``body`` too, from the same page: own ids.
class MessageForm(FlaskForm):
    body = _text_field(_l("Bericht aan beide leden"), id="message-body")


class NoteForm(FlaskForm):
    body = _text_field(_l("Notitie voor coördinatoren (leden zien dit niet)"), id="note-body")


class AssignForm(FlaskForm):
    coordinator = SelectField(_l("Tweede bemiddelaar"), coerce=int, validate_choice=False)


class ResolveForm(IdempotentForm):
    outcome = RadioField(_l("Uitkomst"), choices=OUTCOME_CHOICES,
                         validators=[InputRequired(message=_l("Kies een uitkomst."))])
    amount = MinutesField(_l("Bedrag van de correctie"), description=_l("Alleen bij een correctie. Bijvoorbeeld 1:30 of 1,5 (anderhalf uur)."))
    direction = RadioField(_l("Richting van de correctie"), default="back",
                           choices=[("back", _l("Terug naar wie betaalde")), ("forward", _l("Extra naar wie ontving"))])
    note = TextAreaField(_l("Afspraak of reden"), validators=[Length(max=5000)])
    override_limits = BooleanField(_l("Grenzen mogen worden overschreden (wordt vastgelegd)"))


class StatusFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"))
