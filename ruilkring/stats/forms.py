"""Forms of the social-effect area: opening the yearly survey and answering it."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired

from ruilkring.forms import date_field
from ruilkring.stats.survey import HELP_CHOICES, NEW_PEOPLE_CHOICES


class SurveyOpenForm(FlaskForm):
    opens_on = date_field(_l("Open vanaf"), InputRequired(message=_l("Vul een datum in.")),
                          description=_l("Bijvoorbeeld 1-1-2026."))
    closes_on = date_field(_l("Open tot en met"), InputRequired(message=_l("Vul een datum in.")),
                           description=_l("Vier weken is meestal genoeg. Bijvoorbeeld 31-12-2026."))


BELONGING_LABELS = {
    1: _l("1 – helemaal niet"),
    2: _l("2"),
    3: _l("3"),
    4: _l("4"),
    5: _l("5 – heel sterk"),
}
NEW_PEOPLE_LABELS = {"0": _l("Niemand"), "1-2": _l("1 of 2 mensen"), "3-5": _l("3 tot 5 mensen"),
                     "6+": _l("6 mensen of meer")}
HELP_LABELS = {"yes": _l("Ja"), "no": _l("Nee"), "unknown": _l("Weet ik niet")}


class SurveyAnswerForm(FlaskForm):
    belonging = RadioField(
        _l("Hoe sterk voelt u zich verbonden met de mensen in uw buurt?"),
        choices=list(BELONGING_LABELS.items()), coerce=int,
        validators=[InputRequired(message=_l("Kies een getal van 1 tot en met 5."))])
    new_people = RadioField(
        _l("Hoeveel nieuwe mensen heeft u het afgelopen jaar leren kennen door de ruilkring?"),
        choices=[(value, NEW_PEOPLE_LABELS[value]) for value in NEW_PEOPLE_CHOICES],
        validators=[InputRequired(message=_l("Kies een van de antwoorden."))])
    help_available = RadioField(
        _l("Als u hulp nodig heeft, is er dan iemand die u kunt vragen?"),
        choices=[(value, HELP_LABELS[value]) for value in HELP_CHOICES],
        validators=[InputRequired(message=_l("Kies een van de antwoorden."))])
