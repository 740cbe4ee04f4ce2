"""Forms of the API token page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ruilkring.api.services import MAX_NAME


class ApiTokenForm(FlaskForm):
    member_id = SelectField(_l("Kring"), coerce=int,
                            description=_l("De sleutel werkt alleen in deze kring, met uw rol daar."))
    name = StringField(_l("Naam van de sleutel"),
                       validators=[DataRequired(message=_l("Geef de sleutel een naam.")), Length(max=MAX_NAME)],
                       description=_l("Waar gebruikt u hem voor? Bijvoorbeeld: spreadsheet of eigen app."))
