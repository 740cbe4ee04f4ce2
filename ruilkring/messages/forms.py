"""The one form of this area: writing a message."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ruilkring.messages.services import MAX_BODY


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Uw bericht"),
        validators=[
            DataRequired(message=_l("Schrijf een bericht.")),
            Length(max=MAX_BODY, message=_l(
                "Uw bericht is te lang (hoogstens %(max)d tekens). Maak het korter of verdeel het "
                "over meer berichten.")),
        ],
    )
