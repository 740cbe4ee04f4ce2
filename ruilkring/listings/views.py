"""Vraag en aanbod pages: search, post, edit, pictures, pause, renew (also by a link from
the expiry mail), hide; categories and unanswered requests for coordinators."""

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ruilkring import clock
from ruilkring.access import (
    coordinator_required,
    is_ring_coordinator,
    public,
    ring_blueprint,
    ring_member_or_404,
)
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.listings import pictures, selectors, services
from ruilkring.listings.forms import (
    HELP_CHOICES,
    PLACE_CHOICES,
    CategoryForm,
    HideForm,
    ListingForm,
    SearchForm,
)
from ruilkring.listings.models import Category, Listing, ListingPicture, ListingStatus
from ruilkring.members.selectors import member_directory
from ruilkring.web import db_id, page_or_fragment

bp = ring_blueprint("listings", __name__)

PER_PAGE = 20


def _listing_or_404(listing_id: int, *, for_change: bool = False) -> Listing:
    """A listing of this ring the user may see (see ``selectors.listing_for``)."""
    listing = selectors.listing_for(ring=g.ring, listing_id=listing_id, viewer=g.member,
                                    coordinator=is_ring_coordinator(), for_change=for_change)
    if listing is None:
        abort(404)
    return listing


def _today():
    return clock.now().date()


def _listing_form(**kwargs) -> ListingForm:
    form = ListingForm(**kwargs)
    form.set_categories(selectors.ring_categories(ring=g.ring))
    form.set_picture_help(max_pictures=pictures.MAX_PICTURES,
                          max_bytes=current_app.config["MAX_PICTURE_BYTES"])
    return form


def _add_pictures(listing: Listing, form: ListingForm) -> None:
    for upload in form.uploads():
        pictures.picture_add(listing=listing, upload=upload, added_by=current_user)


@bp.route("/aanbod-en-vraag")
def index():
    """Search and browse. htmx swaps only the results (active search); without
    JavaScript the same GET form submits."""
    form = SearchForm(request.args)
    form.category.choices = [("", _l("Alle categorieën"))] + [
        (c.id, c.name) for c in selectors.ring_categories(ring=g.ring)]
    form.wijk.choices = [("", _l("Alle wijken"))] + [(n.id, n.name) for n in g.ring.neighbourhoods]
    form.validate()  # a choice that is not on the list is told beside its field and not searched for
    page = selectors.listing_search_page(
        ring=g.ring, q=form.q.data or "", kind=None if form.kind.errors else form.kind.data or None,
        category_id=form.category.data, neighbourhood_id=form.wijk.data, new_this_week=bool(form.new.data),
        sort=form.sort.data or "newest", viewer=g.member, page=None, per_page=PER_PAGE,
    )
    return page_or_fragment("listings/index.html", "listings/_results.html", "results", form=form, page=page)


@bp.route("/aanbod-en-vraag/nieuw", methods=["GET", "POST"])
def create():
    """Post an offer or request; a coordinator may post for a member (``?voor=<id>``)."""
    owner = g.member
    on_behalf = request.args.get("voor", type=db_id)
    if on_behalf is not None:
        if not is_ring_coordinator():
            abort(404)
        owner = ring_member_or_404(on_behalf)
    if owner is None:
        abort(404)
    form = _listing_form(kind=request.args.get("soort", "offer"))
    if form.validate_on_submit():
        try:
            listing = services.listing_create(
                owner=owner, kind=form.kind.data, title=form.title.data, description=form.description.data or "",
                category_id=form.category_id.data, help_kind=form.help_kind.data, place=form.place.data,
                time_estimate=form.time_estimate.data, valid_until=form.valid_until.data,
                created_by=current_user,
            )
            _add_pictures(listing, form)
        except DomainError as error:
            db.session.rollback()  # also deletes picture files already written
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("Geplaatst. Andere leden kunnen het nu vinden."), "success")
            return redirect(url_for("listings.detail", listing_id=listing.id))
    return render_template("listings/form.html", form=form, listing=None, owner=owner,
                           members=member_directory(ring=g.ring) if is_ring_coordinator() else [])


@bp.route("/aanbod-en-vraag/<int:listing_id>")
def detail(listing_id: int):
    """One listing with its owner, matches from the other side, and actions."""
    listing = _listing_or_404(listing_id)
    return render_template(
        "listings/detail.html", listing=listing, matches=selectors.listing_matches(listing=listing),
        own=g.member is not None and listing.owner_id == g.member.id, hide_form=HideForm(),
        expired=listing.valid_until < _today(),
    )


@bp.route("/aanbod-en-vraag/<int:listing_id>/bewerken", methods=["GET", "POST"])
def edit(listing_id: int):
    """The owner (or a coordinator) changes a listing."""
    listing = _listing_or_404(listing_id, for_change=True)
    form = _listing_form(obj=listing)
    del form.kind  # an offer stays an offer
    if form.validate_on_submit():
        try:
            services.listing_update(
                listing=listing, title=form.title.data, description=form.description.data or "",
                category_id=form.category_id.data, help_kind=form.help_kind.data, place=form.place.data,
                time_estimate=form.time_estimate.data, valid_until=form.valid_until.data or listing.valid_until,
                updated_by=current_user,
            )
            _add_pictures(listing, form)
        except DomainError as error:
            db.session.rollback()  # also deletes picture files already written
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("Uw wijzigingen zijn opgeslagen."), "success")
            return redirect(url_for("listings.detail", listing_id=listing.id))
    return render_template("listings/form.html", form=form, listing=listing, owner=listing.owner, members=[])


def _picture_or_404(listing: Listing, picture_id: int) -> ListingPicture:
    picture = db.session.get(ListingPicture, picture_id)
    if picture is None or picture.listing_id != listing.id:
        abort(404)
    return picture


@bp.route("/aanbod-en-vraag/<int:listing_id>/fotos/<int:picture_id>")
def picture(listing_id: int, picture_id: int):
    """A listing's picture, for whoever may see the listing (never a public static file)."""
    listing = _listing_or_404(listing_id)
    picture = _picture_or_404(listing, picture_id)
    response = send_from_directory(pictures.upload_folder(), picture.filename, max_age=3600)
    response.cache_control.private = True  # what a viewer may see differs per viewer
    return response


@bp.post("/aanbod-en-vraag/<int:listing_id>/fotos/<int:picture_id>/verwijderen")
def picture_remove(listing_id: int, picture_id: int):
    """The owner (or a coordinator) removes a picture."""
    listing = _listing_or_404(listing_id, for_change=True)
    picture = _picture_or_404(listing, picture_id)
    pictures.picture_remove(picture=picture, removed_by=current_user)
    db.session.commit()
    flash(_l("De foto is verwijderd."), "success")
    return redirect(url_for("listings.edit", listing_id=listing.id))


STATUS_ACTIONS = {
    "pauzeren": (ListingStatus.PAUSED, _l("Gepauzeerd: niemand ziet het tot u het weer aanzet.")),
    "hervatten": (ListingStatus.ACTIVE, _l("Staat weer aan.")),
    "sluiten": (ListingStatus.CLOSED, _l("Gesloten. Dank u wel!")),
}


@bp.post("/aanbod-en-vraag/<int:listing_id>/<any(pauzeren, hervatten, sluiten, verlengen):action>")
def change_status(listing_id: int, action: str):
    """Pause, resume, close or renew (owner or coordinator)."""
    listing = _listing_or_404(listing_id, for_change=True)
    try:
        if action == "verlengen":
            services.listing_renew(listing=listing, renewed_by=current_user)
            message = _l("Verlengd tot %(date)s.", date=listing.valid_until.strftime("%d-%m-%Y"))
        else:
            status, message = STATUS_ACTIONS[action]
            services.listing_set_status(listing=listing, status=status, changed_by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("listings.detail", listing_id=listing.id))


@bp.route("/aanbod-en-vraag/<int:listing_id>/verlengen/<token>", methods=["GET", "POST"])
@public
def renew_by_token(listing_id: int, token: str):
    """The one-click renew link of the expiry mail: no login needed, the signed token is
    the permission. GET only shows the listing and a button (mail scanners follow links;
    they must not renew anything); the POST renews."""
    try:
        listing = services.listing_by_renew_token(token=token, listing_id=listing_id)
        if listing.ring_id != g.ring.id:
            abort(404)
        if request.method == "POST":
            services.listing_renew(listing=listing, renewed_by=listing.owner.user)
            db.session.commit()
            return render_template("listings/renew.html", listing=listing, renewed=True)
    except DomainError as error:
        db.session.rollback()
        return render_template("listings/renew.html", listing=None, error=error.message), 400
    return render_template("listings/renew.html", listing=listing, renewed=False)


@bp.post("/aanbod-en-vraag/<int:listing_id>/verbergen")
@coordinator_required
def hide(listing_id: int):
    """Hide a listing that breaks the house rules, with a reason the owner sees."""
    listing = _listing_or_404(listing_id)
    form = HideForm()
    try:
        if not form.validate_on_submit():
            missing = _l("Geef een reden op; de eigenaar krijgt die te zien.")
            raise DomainError(form.reason.errors[0] if form.reason.errors else missing)
        services.listing_hide(listing=listing, hidden_by=current_user, reason=form.reason.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("De advertentie is verborgen. De eigenaar heeft bericht gekregen."), "success")
    return redirect(url_for("listings.detail", listing_id=listing.id))


@bp.post("/aanbod-en-vraag/<int:listing_id>/tonen")
@coordinator_required
def unhide(listing_id: int):
    listing = _listing_or_404(listing_id)
    try:
        services.listing_unhide(listing=listing, unhidden_by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("De advertentie is niet meer verborgen; ze staat op pauze tot de eigenaar haar aanzet."), "success")
    return redirect(url_for("listings.detail", listing_id=listing.id))


@bp.route("/mijn-advertenties")
def mine():
    """The member's own listings in every state, with their actions."""
    if g.member is None:
        abort(404)
    return render_template("listings/mine.html",
                           listings=selectors.member_listings(member=g.member, include_inactive=True),
                           today=_today())


# Coordinator


@bp.route("/beheer/categorieen", methods=["GET", "POST"])
@coordinator_required
def categories():
    """The ring's own list of categories: add, rename, mark as care, retire."""
    form = CategoryForm(prefix="new")
    if form.validate_on_submit():
        try:
            services.category_create(ring=g.ring, name=form.name.data, care=form.care.data,
                                     created_by=current_user)
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("Categorie toegevoegd."), "success")
            return redirect(url_for("listings.categories"))
    return render_template("listings/categories.html", form=form,
                           categories=selectors.ring_categories(ring=g.ring, active_only=False))


@bp.post("/beheer/categorieen/<int:category_id>")
@coordinator_required
def category_update(category_id: int):
    category = db.session.get(Category, category_id)
    if category is None or category.ring_id != g.ring.id:
        abort(404)
    form = CategoryForm(prefix=f"c{category.id}")
    try:
        if not form.validate_on_submit():
            raise DomainError(form.name.errors[0] if form.name.errors else _l("Vul een naam in."))
        services.category_update(category=category, name=form.name.data, care=form.care.data,
                                 active=form.active.data, updated_by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("Categorie opgeslagen."), "success")
    return redirect(url_for("listings.categories"))


@bp.route("/beheer/onbeantwoord")
@coordinator_required
def unanswered():
    """Requests without any reaction for two weeks: broker them by hand."""
    return render_template("listings/unanswered.html",
                           listings=selectors.requests_without_response(ring=g.ring))


HELP_KIND_LABELS = dict(HELP_CHOICES)
PLACE_LABELS = dict(PLACE_CHOICES)
LISTING_STATUS_LABELS = {
    ListingStatus.ACTIVE: _l("staat aan"),
    ListingStatus.PAUSED: _l("gepauzeerd"),
    ListingStatus.CLOSED: _l("gesloten"),
    ListingStatus.HIDDEN: _l("verborgen door coördinator"),
}


@bp.app_context_processor
def listing_labels():
    return {
        "help_kind_label": lambda kind: HELP_KIND_LABELS[kind.value if hasattr(kind, "value") else kind],
        "place_label": lambda place: PLACE_LABELS[place.value if hasattr(place, "value") else place],
        "listing_status_label": LISTING_STATUS_LABELS.__getitem__,
    }
