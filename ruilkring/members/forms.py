"""Forms for signing up, the member's ring profile and the coordinator's actions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ruilkring.auth.forms import EMAIL_VALIDATORS
from ruilkring.forms import password_field


def _coerce_optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class MemberProfileForm(FlaskForm):
    neighbourhood_id = SelectField(
        _l("Wijk"), coerce=_coerce_optional_int, validate_choice=False,  # the service says what is wrong
        validators=[InputRequired(message=_l("Kies uw wijk."))],
        description=_l("De wijk waar u woont. Andere leden zien alleen de wijk, niet uw adres."),
    )
    birth_year = IntegerField(
        _l("Geboortejaar (mag leeg blijven)"),
        validators=[Optional(), NumberRange(min=1900, max=2100, message=_l("Vul een jaartal in, zoals 1956."))],
        description=_l("Alleen voor statistieken over leeftijdsgroepen; niemand ziet uw geboortejaar."),
    )
    share_email = BooleanField(_l("Andere leden mogen mijn e-mailadres zien"))
    share_phone = BooleanField(_l("Andere leden mogen mijn telefoonnummer zien"))
    share_address = BooleanField(_l("Andere leden mogen mijn adres zien"))

    def set_neighbourhoods(self, ring) -> None:
        self.neighbourhood_id.choices = [("", _l("— kies uw wijk —"))] + [
            (n.id, n.name) for n in ring.neighbourhoods
        ]


class ProfileForm(MemberProfileForm):
    bio = TextAreaField(
        _l("Over mij (mag leeg blijven)"), validators=[Length(max=2000)],
        description=_l("Een paar zinnen over uzelf: wat u graag doet, wat u kunt."),
    )
    # Stored inverted, as Member.digest_opt_out: the view fills it with ``digest=``.
    digest = BooleanField(_l("Wekelijks een e-mail met nieuw aanbod en nieuwe vragen"), default=True)


class JoinForm(MemberProfileForm):
    """Joining with an account one already has."""

    accept_rules = BooleanField(_l("Ik heb de huisregels gelezen en ga ermee akkoord"))


class SignupForm(JoinForm):
    """Joining as a new person."""

    name = StringField(_l("Naam"), validators=[DataRequired(message=_l("Vul uw naam in.")), Length(max=120)],
                       render_kw={"autocomplete": "name"})
    email = EmailField(_l("E-mailadres"), validators=EMAIL_VALIDATORS, render_kw={"autocomplete": "email"})
    password = password_field()
    phone = StringField(_l("Telefoonnummer (mag leeg blijven)"), validators=[Length(max=40)],
                        render_kw={"autocomplete": "tel"})
    address = StringField(_l("Adres (mag leeg blijven)"), validators=[Length(max=200)],
                          render_kw={"autocomplete": "street-address"})


class ReasonForm(FlaskForm):
    """A coordinator action with an optional reason."""

    reason = StringField(_l("Reden"), validators=[Length(max=500)])


class EraseForm(FlaskForm):
    reason = StringField(
        _l("Reden"), validators=[DataRequired(message=_l("Geef een reden op.")), Length(max=500)],
        description=_l("Bijvoorbeeld: verzoek van het lid per e-mail van 3 maart."),
    )
    confirm = BooleanField(
        _l("Ik begrijp dat dit niet ongedaan kan worden gemaakt"),
        validators=[InputRequired(message=_l("Vink aan dat u dit begrijpt."))],
    )


class MemberFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="")  # no Optional: it would let a value of spaces through
    q = StringField(_l("Naam of e-mail"), validators=[Optional(), Length(max=100)])
    wijk = SelectField(_l("Wijk"), coerce=lambda v: int(v) if v else None, validators=[Optional()],
                       validate_choice=False)
    never_traded = BooleanField(_l("Nog nooit geruild"))
    at_limit = BooleanField(_l("Aan of over een grens"))
