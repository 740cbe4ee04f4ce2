"""Form pieces shared by the areas.

Required text fields use DataRequired, which takes a value of only spaces as empty;
InputRequired (which does not) is for choices, numbers and passwords."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from wtforms import DateField, PasswordField
from wtforms.validators import InputRequired, Optional

# The browser's calendar sends 2026-12-31; where there is no calendar, people type 31-12-2026.
DATE_FORMATS = ["%Y-%m-%d", "%d-%m-%Y"]


def password_field(label=None):
    return PasswordField(
        label or _l("Wachtwoord"),
        validators=[InputRequired(message=_l("Vul een wachtwoord in."))],
        render_kw={"autocomplete": "new-password"},
    )


def date_field(label, *validators, description):
    """A date field (optional unless ``validators`` say otherwise) that reads DATE_FORMATS;
    the ``description`` gives an example as people type it."""
    return DateField(label, validators=list(validators) or [Optional()], format=DATE_FORMATS,
                     description=description)


def read_day(value: str) -> date:
    """A day from a query string in one of DATE_FORMATS, for pages whose date fields are not
    a form; ValueError when it is none of them or there is no such day."""
    for format in DATE_FORMATS:
        try:
            return datetime.strptime(value, format).date()
        except ValueError:
            pass
    raise ValueError(value)
