"""Forms for paying, payment requests, statements and the coordinator's bookings (required
text fields: see ruilkring/forms.py)."""

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ruilkring.forms import date_field
from ruilkring.ledger.amounts import MinutesField
from ruilkring.web import db_id

AMOUNT_HELP = _l("Bijvoorbeeld 1:30 of 1,5 (anderhalf uur), of 90m (90 minuten).")


def _positive(form, field):
    if field.data is not None and field.data <= 0:
        raise ValidationError(_l("Vul een bedrag in dat groter is dan nul."))


def _amount_field(label=None):
    return MinutesField(
        label or _l("Hoeveel tijd?"),
        validators=[InputRequired(message=_l("Vul in hoeveel tijd het was.")), _positive],
        description=AMOUNT_HELP,
    )


def _member_id(value) -> int | None:
    """A member (or listing) id from a form field; None for the empty placeholder (or
    anything that is no id), so the placeholder renders and "nobody chosen" meets
    InputRequired or the view."""
    try:
        return db_id(value)
    except (TypeError, ValueError):
        return None


def _listing_field():
    """The offer or request a payment is about, when it comes from a conversation about
    one (the view checks that it belongs to the ring)."""
    return HiddenField(filters=[_member_id])


def _member_choice(label, message):
    return SelectField(label, coerce=_member_id, validate_choice=False,
                       validators=[InputRequired(message=message)])


class IdempotentForm(FlaskForm):
    """A form that books a transfer: its key is made when the form is first shown, so a
    double click or a resubmitted page never books twice."""

    idempotency_key = HiddenField()

    def ensure_key(self) -> None:
        """A new key for a form shown without one: first shown, or drawn again on a page
        where another form was sent. This form, sent, keeps the key it came with: sent
        without one it is refused (``validate_idempotency_key``), never given a new key,
        which would make each resubmit a new payment."""
        sent = any(field.raw_data for field in self if field.short_name != "csrf_token")
        if not sent and not self.idempotency_key.data:
            self.idempotency_key.data = uuid.uuid4().hex

    def validate_idempotency_key(self, field):
        if not field.data or not field.data.strip() or len(field.data) > 64:
            field.data = uuid.uuid4().hex  # for the form shown again, so that its next submit can book
            raise ValidationError(_l("Het formulier is niet compleet. Laad de pagina opnieuw."))


class PayForm(IdempotentForm):
    payee = _member_choice(_l("Aan wie betaalt u?"), _l("Kies aan wie u betaalt."))
    amount = _amount_field()
    description = StringField(
        _l("Waarvoor?"),
        validators=[DataRequired(message=_l("Schrijf erbij waarvoor u betaalt.")), Length(max=500)],
        description=_l("Bijvoorbeeld: fiets gerepareerd, boodschappen gedaan."),
    )
    confirmed = HiddenField()
    listing_id = _listing_field()


class PaymentRequestForm(IdempotentForm):
    payer = _member_choice(_l("Wie moet betalen?"), _l("Kies wie u om betaling vraagt."))
    amount = _amount_field()
    description = StringField(
        _l("Waarvoor?"),
        validators=[DataRequired(message=_l("Schrijf erbij waarvoor u betaald wilt worden.")), Length(max=500)],
    )
    listing_id = _listing_field()


class DeclineForm(FlaskForm):
    reason = StringField(
        _l("Waarom weigert u?"),
        validators=[DataRequired(message=_l("Schrijf kort waarom u weigert.")), Length(max=500)],
    )


class BookForm(IdempotentForm):
    payer = _member_choice(_l("Wie betaalt?"), _l("Kies wie betaalt."))
    payee = _member_choice(_l("Wie ontvangt?"), _l("Kies wie ontvangt."))
    amount = _amount_field()
    description = StringField(
        _l("Waarvoor?"),
        validators=[DataRequired(message=_l("Schrijf erbij waarvoor betaald wordt.")), Length(max=500)],
    )
    note = StringField(
        _l("Notitie van de coördinator"),
        validators=[DataRequired(message=_l("Schrijf een notitie: waarom boekt u dit voor de leden?")),
                    Length(max=500)],
        description=_l("Bijvoorbeeld: ruilbriefje van 12 maart, lid heeft geen internet."),
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BulkForm(IdempotentForm):
    direction = RadioField(
        _l("Richting"),
        choices=[("from_members", _l("Elk gekozen lid betaalt")), ("to_members", _l("Elk gekozen lid ontvangt"))],
        default="from_members",
        validators=[InputRequired(message=_l("Kies een richting."))],
    )
    counterpart = SelectField(_l("Tegenrekening"), coerce=int, validate_choice=False, default=0,
                              description=_l("Meestal de pot van de kring."))
    members = MultiCheckboxField(_l("Leden"), coerce=int, validate_choice=False,
                                 validators=[InputRequired(message=_l("Kies minstens één lid."))])
    amount = _amount_field(_l("Bedrag per lid"))
    description = StringField(
        _l("Waarvoor?"),
        validators=[DataRequired(message=_l("Schrijf erbij waarvoor geboekt wordt.")), Length(max=500)],
        description=_l("Bijvoorbeeld: jaarbijdrage 2026."),
    )
    confirmed = HiddenField()
    previewed = HiddenField()  # what the preview showed (a fingerprint): only that is booked


class LimitsForm(FlaskForm):
    min_balance = MinutesField(_l("Ondergrens"), allow_negative=True, validators=[Optional()],
                               description=_l("In uren, bijvoorbeeld -20:00. Leeg laten: de standaard van de kring."))
    max_balance = MinutesField(_l("Bovengrens"), validators=[Optional()],
                               description=_l("In uren, bijvoorbeeld 40:00. Leeg laten: de standaard van de kring."))
    reason = StringField(_l("Reden"), validators=[DataRequired(message=_l("Geef een reden op.")), Length(max=500)])


class ReverseForm(IdempotentForm):
    reason = StringField(_l("Reden"), validators=[DataRequired(message=_l("Geef een reden op.")), Length(max=500)])
    override_limits = BooleanField(_l("Grenzen mogen worden overschreden (wordt vastgelegd)"))


class CorrectionForm(IdempotentForm):
    direction = RadioField(
        _l("Richting"),
        choices=[("back", _l("Terug van ontvanger naar betaler")), ("forward", _l("Extra van betaler naar ontvanger"))],
        default="back",
        validators=[InputRequired(message=_l("Kies een richting."))],
    )
    amount = _amount_field(_l("Bedrag van de correctie"))
    reason = StringField(_l("Reden"), validators=[DataRequired(message=_l("Geef een reden op.")), Length(max=500)])
    override_limits = BooleanField(_l("Grenzen mogen worden overschreden (wordt vastgelegd)"))


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = date_field(_l("Van"), description=_l("Bijvoorbeeld 1-1-2026."))
    date_to = date_field(_l("Tot en met"), description=_l("Bijvoorbeeld 31-12-2026."))

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("De einddatum ligt voor de begindatum."))


class OverviewFilterForm(PeriodForm):
    member = SelectField(_l("Lid"), coerce=_member_id, validate_choice=False,
                         validators=[Optional()])
    kind = SelectField(_l("Soort"), validators=[Optional()])
