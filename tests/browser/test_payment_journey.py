"""Paying in a real browser, with JavaScript on: the name search narrows the list (Enter
searches, it never sends the payment), the payment is confirmed, and the statement's CSV
link downloads a file instead of showing it as a page."""

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def ring(create):
    def build():
        ring = factories.RingFactory(name="Ruilkring De Linde", slug="de-linde")
        factories.MemberFactory(ring=ring, user__name="Piet Betaler", user__email="piet@example.org")
        for name in ("Anna Helper", "Bert Bakker", "Carla Smit"):
            factories.MemberFactory(ring=ring, user__name=name)
        return {"slug": ring.slug}

    return create(build)


def test_search_with_enter_then_pay_and_download_the_statement(page: Page, ring):
    slug = ring["slug"]
    log_in(page, "piet@example.org")
    page.goto(f"/kring/{slug}/betalen")

    page.get_by_label("Zoek op naam").fill("bakk")
    page.get_by_label("Zoek op naam").press("Enter")

    payee = page.get_by_label("Aan wie betaalt u?")
    expect(payee.locator("option")).to_have_text(["— kies een lid —", "Bert Bakker"])
    expect(payee).to_have_value(payee.locator("option", has_text="Bert Bakker").get_attribute("value"))
    expect(page.locator(".alert--error")).to_have_count(0)  # nothing was sent
    page.get_by_label("Hoeveel tijd?").fill("1:30")
    page.get_by_label("Waarvoor?").fill("Fiets gemaakt")
    page.get_by_role("button", name="Verder").click()
    page.get_by_role("button", name="Ja, betaal 1:30 uur").click()
    expect(page.get_by_text("U heeft 1:30 uur betaald aan Bert Bakker.")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download als CSV (Excel)").click()
    assert download.value.suggested_filename.endswith(".csv")
    expect(page.get_by_role("heading", level=1)).to_be_visible()  # the page stayed
