"""Berichten: the member's conversations, one conversation, and writing to another
member about a listing ("Reageer") or from their profile.

Conversations are private: only their two members see them; everyone else, coordinators
and platform admins included, gets 404.
"""

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from ruilkring import clock
from ruilkring.access import ring_blueprint, ring_member_or_404
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.listings.models import Listing, ListingKind, ListingStatus
from ruilkring.members.models import Member
from ruilkring.messages import selectors, services
from ruilkring.messages.forms import MessageForm
from ruilkring.messages.models import Conversation
from ruilkring.web import htmx_targets

bp = ring_blueprint("messages", __name__)


def _own_member() -> Member:
    """The signed-in member of this ring (an admin without membership has no messages)."""
    if g.member is None or not g.member.has_access:
        abort(404)
    return g.member


def _conversation_or_404(conversation_id: int, member: Member) -> Conversation:
    """A conversation of this ring that ``member`` takes part in; anything else is 404."""
    conversation = db.session.get(Conversation, conversation_id)
    if (conversation is None or conversation.ring_id != g.ring.id
            or member.id not in (conversation.starter_id, conversation.other_id)):
        abort(404)
    return conversation


def _form_error(form: MessageForm) -> DomainError:
    """The form's complaint about the text, to show as a flash message on the page the
    form was on (the listing or the profile)."""
    return DomainError(" ".join(str(error) for error in form.body.errors) or _l("Schrijf een bericht."))


def _payment_links(conversation: Conversation, member: Member) -> dict:
    """For a conversation about a listing: the member who was helped (who posted the
    request, or who reacted to the offer) may pay, the helper may ask for payment. Both
    links carry the partner and the listing, so the ledger's form is filled in."""
    listing = conversation.listing
    if listing is None:
        return {}
    partner = conversation.partner_of(member)
    helped_id = listing.owner_id if listing.kind == ListingKind.REQUEST else conversation.starter_id
    if member.id == helped_id:
        return {"pay_url": url_for("ledger.pay", aan=partner.id, advertentie=listing.id)}
    return {"request_url": url_for("ledger.requests", van=partner.id, advertentie=listing.id,
                                   _anchor="nieuw")}


def _conversation_context(conversation: Conversation, member: Member, form: MessageForm) -> dict:
    return dict(conversation=conversation, partner=conversation.partner_of(member), me=member,
                messages=selectors.conversation_messages(conversation=conversation), form=form,
                **_payment_links(conversation, member))


@bp.route("/berichten")
def index():
    """The member's conversations, newest first, unread ones marked."""
    member = _own_member()
    return render_template("messages/index.html", rows=selectors.member_conversations(member=member))


@bp.get("/berichten/<int:conversation_id>")
def conversation(conversation_id: int):
    """One conversation with the form to answer; opening it marks it read."""
    member = _own_member()
    conversation = _conversation_or_404(conversation_id, member)
    services.conversation_mark_read(conversation=conversation, reader=member)
    db.session.commit()
    return render_template("messages/conversation.html",
                           **_conversation_context(conversation, member, MessageForm(formdata=None)))


@bp.post("/berichten/<int:conversation_id>")
def send(conversation_id: int):
    """Answer in a conversation. htmx (target ``thread``) gets the thread with the new
    message and an empty form; without JavaScript the browser is sent back to the page."""
    member = _own_member()
    conversation = _conversation_or_404(conversation_id, member)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            message = services.message_send(conversation=conversation, sender=member, body=form.body.data)
        except DomainError as error:
            db.session.rollback()
            error.apply_to(form)
        else:
            db.session.commit()
            if not htmx_targets("thread"):
                return redirect(url_for("messages.conversation", conversation_id=conversation.id,
                                        _anchor=f"bericht-{message.id}"))
            context = _conversation_context(conversation, member, MessageForm(formdata=None))
            return render_template("messages/_thread.html", announcement=_l("Uw bericht is verstuurd."), **context)
    context = _conversation_context(conversation, member, form)
    if htmx_targets("thread"):
        return render_template("messages/_thread.html", **context)
    return render_template("messages/conversation.html", **context)


@bp.post("/aanbod-en-vraag/<int:listing_id>/reageren")
def react(listing_id: int):
    """"Reageer" on a listing: starts the conversation with its owner, or adds to it."""
    member = _own_member()
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.ring_id != g.ring.id:
        abort(404)
    visible = listing.status == ListingStatus.ACTIVE and listing.valid_until >= clock.now().date()
    if not visible and listing.owner_id != member.id and \
            selectors.conversation_about(listing_id=listing.id, member=member) is None:
        abort(404)  # as on the listing's own page: others do not see it
    form = MessageForm()
    try:
        if not form.validate_on_submit():
            raise _form_error(form)
        conversation = services.conversation_start(listing=listing, starter=member, body=form.body.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("listings.detail", listing_id=listing.id, _anchor="reageren"))
    db.session.commit()
    flash(_l("Uw bericht is verstuurd naar %(name)s.", name=listing.owner.name), "success")
    return redirect(url_for("messages.conversation", conversation_id=conversation.id))


@bp.post("/leden/<int:member_id>/bericht")
def direct(member_id: int):
    """Write to a member from their profile (one conversation per pair, about no listing)."""
    member = _own_member()
    other = ring_member_or_404(member_id)
    if not other.has_access:
        abort(404)  # as on the profile page: members do not see who left
    form = MessageForm()
    try:
        if not form.validate_on_submit():
            raise _form_error(form)
        conversation = services.conversation_start_direct(starter=member, other=other, body=form.body.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("members.profile", member_id=other.id, _anchor="bericht"))
    db.session.commit()
    flash(_l("Uw bericht is verstuurd naar %(name)s.", name=other.name), "success")
    return redirect(url_for("messages.conversation", conversation_id=conversation.id))


@bp.app_context_processor
def message_helpers():
    """For the listing and profile pages: an empty message form, and the conversation the
    signed-in member already has about a listing."""

    def my_conversation_about(listing):
        member = g.get("member")
        if member is None:
            return None
        return selectors.conversation_about(listing_id=listing.id, member=member)

    return {"message_form": lambda: MessageForm(formdata=None),
            "my_conversation_about": my_conversation_about}
