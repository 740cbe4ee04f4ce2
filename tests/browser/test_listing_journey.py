"""Where trades begin, in a real browser: a member posts an offer, another finds it by
searching, reacts with a message, and pays from the conversation."""

import re

import pytest
from playwright.sync_api import Page, expect

from ruilkring.listings.services import categories_create_defaults
from tests import factories
from tests.browser.helpers import log_in, log_out

pytestmark = pytest.mark.browser


@pytest.fixture
def ring(create):
    def build():
        ring = factories.RingFactory(name="Ruilkring De Linde", slug="de-linde")
        categories_create_defaults(ring=ring)
        factories.MemberFactory(ring=ring, user__name="Fleur Fietsmaker", user__email="fleur@example.org")
        factories.MemberFactory(ring=ring, user__name="Henk Hulpvrager", user__email="henk@example.org")
        return {"slug": ring.slug}

    return create(build)


def test_offer_search_message_and_pay_from_the_conversation(page: Page, ring):
    slug = ring["slug"]
    log_in(page, "fleur@example.org")
    page.goto(f"/kring/{slug}/aanbod-en-vraag/nieuw")
    page.get_by_label("Aanbod: ik bied iets aan").check()
    page.get_by_label("Titel").fill("Fietsreparatie en lekke banden")
    page.get_by_label("Beschrijving").fill("Ik repareer uw fiets in mijn schuurtje. Zie ook https://example.org/fiets")
    page.get_by_label("Categorie").select_option(label="Naaien en repareren")
    page.get_by_role("button", name="Plaatsen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fietsreparatie en lekke banden")
    log_out(page)

    log_in(page, "henk@example.org")
    page.goto(f"/kring/{slug}/aanbod-en-vraag")
    page.get_by_label("Zoeken").fill("fiets")  # htmx active search swaps the results
    result = page.locator("#results").get_by_role("link", name="Fietsreparatie en lekke banden")
    expect(result).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=fiets"))  # the search can be shared
    result.click()
    page.locator("#reageren textarea").fill("Mijn achterband is lek. Kunt u zaterdag?")
    page.get_by_role("button", name="Stuur bericht").click()
    expect(page.get_by_text("Mijn achterband is lek.")).to_be_visible()
    page.get_by_role("link", name="Betalen aan Fleur Fietsmaker").click()
    page.get_by_label("Hoeveel tijd?").fill("1:30")
    page.get_by_label("Waarvoor?").fill("Band geplakt")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_text("Klopt dit?")).to_be_visible()
    expect(page.get_by_text("Fietsreparatie en lekke banden")).to_be_visible()
    page.get_by_role("button", name="Ja, betaal 1:30 uur").click()
    expect(page.locator(".balance")).to_have_text("-1:30 uur")
