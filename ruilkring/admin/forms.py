"""Forms for platform admins."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ruilkring.auth.forms import EMAIL_VALIDATORS
from ruilkring.ledger.amounts import MinutesField


class RingForm(FlaskForm):
    name = StringField(_l("Naam van de kring"), validators=[InputRequired(message=_l("Vul een naam in.")), Length(max=120)])
    municipality = StringField(_l("Gemeente"), validators=[InputRequired(message=_l("Vul de gemeente in.")), Length(max=120)])
    neighbourhoods = TextAreaField(
        _l("Wijken"), validators=[InputRequired(message=_l("Noem minstens één wijk."))],
        description=_l("Eén wijk per regel."),
    )
    currency_name = StringField(
        _l("Naam van de munt"), default="uur",
        validators=[InputRequired(message=_l("Vul een naam in, bijvoorbeeld 'uur'.")), Length(max=30)],
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


class PersonForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=EMAIL_VALIDATORS)
    name = StringField(
        _l("Naam"), validators=[Optional(), Length(max=120)],
        description=_l("Alleen nodig als deze persoon nog geen account heeft."),
    )


class MunicipalityViewerForm(PersonForm):
    municipality_id = SelectField(_l("Gemeente"), coerce=int)
