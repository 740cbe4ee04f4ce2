"""Form pieces shared by the areas.

Required text fields use DataRequired, which takes a value of only spaces as empty;
InputRequired (which does not) is for choices, numbers and passwords."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import InputRequired


def password_field(label=None):
    return PasswordField(
        label or _l("Wachtwoord"),
        validators=[InputRequired(message=_l("Vul een wachtwoord in."))],
        render_kw={"autocomplete": "new-password"},
    )
