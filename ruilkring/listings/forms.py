"""Forms for posting, searching and moderating listings, and for categories."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ruilkring.forms import date_field
from ruilkring.ledger.amounts import MinutesField
from ruilkring.listings.models import HelpKind, ListingKind, ListingPlace

KIND_CHOICES = [(ListingKind.OFFER.value, _l("Aanbod: ik bied iets aan")),
                (ListingKind.REQUEST.value, _l("Vraag: ik zoek hulp"))]
HELP_CHOICES = [(HelpKind.PRACTICAL.value, _l("Praktische hulp")),
                (HelpKind.SOCIAL_EMOTIONAL.value, _l("Gezelschap en steun")),
                (HelpKind.INFORMATIVE.value, _l("Kennis en advies"))]
PLACE_CHOICES = [(ListingPlace.IN_NEIGHBOURHOOD.value, _l("Ergens in de wijk")),
                 (ListingPlace.AT_HOME.value, _l("Bij de ander thuis")),
                 (ListingPlace.AT_MY_PLACE.value, _l("Bij mij thuis")),
                 (ListingPlace.ONLINE.value, _l("Online of telefonisch"))]


class ListingForm(FlaskForm):
    kind = RadioField(_l("Wat wilt u plaatsen?"), choices=KIND_CHOICES, default=ListingKind.OFFER.value,
                      validators=[InputRequired(message=_l("Kies aanbod of vraag."))])
    title = StringField(_l("Titel"), validators=[DataRequired(message=_l("Geef uw aanbod of vraag een korte titel.")),
                                                 Length(max=120)],
                        description=_l("Kort en duidelijk, bijvoorbeeld: Hulp bij het invullen van formulieren."))
    description = TextAreaField(_l("Beschrijving (mag leeg blijven)"), validators=[Length(max=5000)],
                                description=_l("Wat, wanneer, hoe vaak? Een link naar een website mag ook."))
    category_id = SelectField(_l("Categorie"), coerce=lambda v: int(v) if v else None, validate_choice=False,
                              validators=[InputRequired(message=_l("Kies een categorie uit de lijst."))])
    help_kind = RadioField(_l("Soort hulp"), choices=HELP_CHOICES, default=HelpKind.PRACTICAL.value,
                           validators=[InputRequired(message=_l("Kies een soort hulp."))])
    place = SelectField(_l("Waar?"), choices=PLACE_CHOICES, default=ListingPlace.IN_NEIGHBOURHOOD.value)
    time_estimate = MinutesField(_l("Hoeveel tijd ongeveer? (mag leeg blijven)"), validators=[Optional()],
                                 description=_l("Bijvoorbeeld 1:30 of 2u."))
    valid_until = date_field(_l("Geldig tot en met"),
                             description=_l("Leeg laten: drie maanden. Of bijvoorbeeld 31-12-2026."))
    # Checked by ruilkring.listings.pictures (type, size, count), not here.
    upload = MultipleFileField(_l("Foto's toevoegen (mag leeg blijven)"),
                               render_kw={"accept": "image/jpeg,image/png,image/webp"})

    def set_picture_help(self, *, max_pictures: int, max_bytes: int) -> None:
        self.upload.description = _l(
            "Hoogstens %(n)d foto's per advertentie, JPEG, PNG of WebP, elk hoogstens %(mb)d MB. "
            "Gegevens in de foto, zoals de plek waar hij is gemaakt, halen wij eruit.",
            n=max_pictures, mb=max_bytes // (1024 * 1024))

    def uploads(self) -> list:
        """The files chosen, leaving out the empty part a browser sends when none was."""
        return [upload for upload in self.upload.data or [] if upload and upload.filename]

    def set_categories(self, categories) -> None:
        self.category_id.choices = [("", _l("— kies een categorie —"))] + [(c.id, c.name) for c in categories]


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Zoeken"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Aanbod of vraag"), default="",  # no Optional: it would let a value of spaces through
                       choices=[("", _l("Aanbod en vraag")), (ListingKind.OFFER.value, _l("Alleen aanbod")),
                                (ListingKind.REQUEST.value, _l("Alleen vraag"))])
    category = SelectField(_l("Categorie"), coerce=lambda v: int(v) if v else None, validators=[Optional()],
                           validate_choice=False)
    wijk = SelectField(_l("Wijk"), coerce=lambda v: int(v) if v else None, validators=[Optional()],
                       validate_choice=False)
    new = BooleanField(_l("Alleen nieuw deze week"))
    sort = SelectField(_l("Volgorde"), choices=[("newest", _l("Nieuwste eerst")),
                                               ("nearby", _l("Mijn wijk eerst"))], default="newest",
                       validators=[Optional()])


class HideForm(FlaskForm):
    reason = StringField(_l("Reden (de eigenaar ziet deze)"), validators=[
        DataRequired(message=_l("Geef een reden op; de eigenaar krijgt die te zien.")),
        Length(max=500, message=_l("De reden is te lang (hoogstens 500 tekens)."))])


class CategoryForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[
        DataRequired(message=_l("Vul een naam in.")),
        Length(max=60, message=_l("De naam is te lang (hoogstens %(max)d tekens)."))])
    care = BooleanField(_l("Zorg of gezondheid"),
                        description=_l("Voor de gemeente worden deze categorieën samengevoegd, voor de privacy."))
    active = BooleanField(_l("In gebruik"), default=True)
