"""Forms for platform admins."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ruilkring.auth.forms import EMAIL_VALIDATORS
from ruilkring.ledger.amounts import MinutesField

NEIGHBOURHOOD_NAME_MAX = 120  # Neighbourhood.name


def _required_text(message) -> list:
    """A text that must be sent and hold more than spaces. DataRequired alone would pass a
    field left out of the post: the form is filled from the ring, so it keeps the ring's value."""
    return [InputRequired(message=message), DataRequired(message=message)]


class RingForm(FlaskForm):
    name = StringField(_l("Naam van de kring"),
                       validators=[*_required_text(_l("Vul een naam in.")), Length(max=120)])
    municipality = StringField(_l("Gemeente"),
                               validators=[*_required_text(_l("Vul de gemeente in.")), Length(max=120)])
    neighbourhoods = TextAreaField(
        _l("Wijken"), validators=_required_text(_l("Noem minstens één wijk.")),
        description=_l("Eén wijk per regel."),
    )
    currency_name = StringField(
        _l("Naam van de munt"), default="uur",
        validators=[*_required_text(_l("Vul een naam in, bijvoorbeeld 'uur'.")), Length(max=30)],
    )
    default_min_balance = MinutesField(
        _l("Standaard ondergrens"), allow_negative=True, default=-20 * 60,
        validators=[InputRequired(message=_l("Vul een ondergrens in, bijvoorbeeld -20:00."))],
        description=_l("In uren:minuten, bijvoorbeeld -20:00. Zo ver mag een lid in de min."),
    )
    default_max_balance = MinutesField(
        _l("Standaard bovengrens"), default=40 * 60,
        validators=[InputRequired(message=_l("Vul een bovengrens in, bijvoorbeeld 40:00."))],
        description=_l("In uren:minuten, bijvoorbeeld 40:00. Zo veel mag een lid sparen."),
    )
    description = TextAreaField(_l("Korte beschrijving"), validators=[Length(max=2000)])
    house_rules = TextAreaField(_l("Huisregels"), validators=[Length(max=20000)])

    def validate_neighbourhoods(self, field) -> None:
        if any(len(name.strip()) > NEIGHBOURHOOD_NAME_MAX for name in field.data.splitlines()):
            raise ValidationError(_l("Een wijknaam is te lang (hoogstens %(max)d tekens).", max=NEIGHBOURHOOD_NAME_MAX))

    def settings(self) -> dict:
        """The fields as keyword arguments for ``ring_create`` / ``ring_update``."""
        values = {
            "name": self.name.data,
            "neighbourhood_names": self.neighbourhoods.data.splitlines(),
            "currency_name": self.currency_name.data,
            "default_min_balance": self.default_min_balance.data,
            "default_max_balance": self.default_max_balance.data,
            "description": self.description.data or "",
            "house_rules": self.house_rules.data or "",
        }
        for extra in ("dispute_days", "payment_request_days"):
            if extra in self:
                values[extra] = self[extra].data
        return values


class RingSettingsForm(RingForm):
    """What a ring's coordinators may change themselves (the gemeente stays)."""

    municipality = None
    dispute_days = IntegerField(
        _l("Termijn voor geschillen (dagen)"), default=60,
        validators=[InputRequired(message=_l("Vul een aantal dagen in.")),
                    NumberRange(min=1, max=365, message=_l("Kies een aantal dagen tussen 1 en 365."))],
        description=_l("Zo lang na een ruil kan een lid nog een geschil melden."))
    payment_request_days = IntegerField(
        _l("Geldigheid van betaalverzoeken (dagen)"), default=30,
        validators=[InputRequired(message=_l("Vul een aantal dagen in.")),
                    NumberRange(min=1, max=365, message=_l("Kies een aantal dagen tussen 1 en 365."))],
        description=_l("Daarna verloopt een betaalverzoek dat niet is beantwoord."))


class PersonForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=EMAIL_VALIDATORS)
    name = StringField(
        _l("Naam"), validators=[Optional(), Length(max=120)],
        description=_l("Alleen nodig als deze persoon nog geen account heeft."),
    )


class MunicipalityViewerForm(PersonForm):
    municipality_id = SelectField(_l("Gemeente"), coerce=int)
