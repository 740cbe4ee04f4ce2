"""Forms for logging in, passwords and the user's account."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from ruilkring.forms import password_field

EMAIL_VALIDATORS = [
    InputRequired(message=_l("Vul uw e-mailadres in.")),
    Email(message=_l("Dit is geen geldig e-mailadres."), check_deliverability=False),
    Length(max=254),
]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=EMAIL_VALIDATORS, render_kw={"autocomplete": "email"})
    password = PasswordField(
        _l("Wachtwoord"),
        validators=[InputRequired(message=_l("Vul uw wachtwoord in."))],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Ingelogd blijven op deze computer"))


class PasswordForgotForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=EMAIL_VALIDATORS, render_kw={"autocomplete": "email"})


class PasswordSetForm(FlaskForm):
    password = password_field(_l("Nieuw wachtwoord"))
    confirm = PasswordField(
        _l("Herhaal het nieuwe wachtwoord"),
        validators=[EqualTo("password", message=_l("De twee wachtwoorden zijn niet gelijk."))],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(PasswordSetForm):
    current_password = PasswordField(
        _l("Huidig wachtwoord"),
        validators=[InputRequired(message=_l("Vul uw huidige wachtwoord in."))],
        render_kw={"autocomplete": "current-password"},
    )


class AccountForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[DataRequired(message=_l("Vul uw naam in.")), Length(max=120)],
                       render_kw={"autocomplete": "name"})
    phone = StringField(_l("Telefoonnummer (mag leeg blijven)"), validators=[Length(max=40)],
                        render_kw={"autocomplete": "tel"})
    address = StringField(_l("Adres (mag leeg blijven)"), validators=[Length(max=200)],
                          render_kw={"autocomplete": "street-address"})
    locale = SelectField(_l("Taal"), choices=[("nl", "Nederlands"), ("en", "English")])
