"""Form pieces shared by the areas.

Required text fields use DataRequired, which takes a value of only spaces as empty;
InputRequired (which does not) is for choices, numbers and passwords."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, PasswordField
from wtforms.validators import InputRequired, Optional


def password_field(label=None):
    return PasswordField(
        label or _l("Wachtwoord"),
        validators=[InputRequired(message=_l("Vul een wachtwoord in."))],
        render_kw={"autocomplete": "new-password"},
    )


def date_field(label, *validators, description):
    """A date field (optional unless ``validators`` say otherwise). The browser's calendar
    sends 2026-12-31; a date typed where there is no calendar, 31-12-2026, is read too, so
    the ``description`` gives an example in that form."""
    return DateField(label, validators=list(validators) or [Optional()], format=["%Y-%m-%d", "%d-%m-%Y"],
                     description=description)
