"""The sign-up journey in a real browser: a neighbour signs up on the ring's public page,
a coordinator approves them in Ledenbeheer, and the new member logs in.

Once with JavaScript (htmx swaps the member's row in place) and once without it (plain
forms and redirects), because every page must work without JavaScript.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from ruilkring.members.models import MemberRole
from tests import factories
from tests.browser.helpers import log_in, log_out

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/ruilkring-signup.png"
APPLICANT = {"name": "Wim de Vries", "email": "wim@example.org", "password": "een lang wachtwoord"}


@pytest.fixture
def ring(create):
    """A ring with wijken Noord and Zuid and one coordinator, as plain values."""

    def build():
        ring = factories.RingFactory(name="Ruilkring De Linde", slug="de-linde")
        coordinator = factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR,
                                              user__name="Cora Coördinator",
                                              user__email="cora@example.org")
        return {"slug": ring.slug, "name": ring.name, "coordinator_email": coordinator.user.email}

    return create(build)


def sign_up(page: Page, ring: dict, *, screenshot: str | None = None) -> None:
    page.goto(f"/kring/{ring['slug']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(ring["name"])
    page.get_by_role("link", name="Aanmelden bij deze kring").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Aanmelden bij {ring['name']}")
    page.get_by_label("Naam", exact=True).fill(APPLICANT["name"])
    page.get_by_label("E-mailadres", exact=True).fill(APPLICANT["email"])
    page.get_by_label("Wachtwoord", exact=True).fill(APPLICANT["password"])
    page.get_by_label("Wijk", exact=True).select_option(label="Zuid")
    page.get_by_label("Ik heb de huisregels gelezen en ga ermee akkoord").check()
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    page.get_by_role("button", name="Aanmelden", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bedankt voor uw aanmelding")


def open_member_admin(page: Page, ring: dict) -> None:
    expect(page).to_have_url(re.compile(f"/kring/{ring['slug']}/start$"))
    ring_menu = page.get_by_role("navigation", name="Menu van de kring")
    ring_menu.get_by_role("link", name="Beheer", exact=True).click()
    page.get_by_role("main").get_by_role("link", name="Ledenbeheer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ledenbeheer")


def applicant_row(page: Page):
    return page.get_by_role("row").filter(has_text=APPLICANT["email"])


def new_member_sees_start_page(page: Page, ring: dict) -> None:
    log_in(page, APPLICANT["email"], APPLICANT["password"])
    expect(page).to_have_url(re.compile(f"/kring/{ring['slug']}/start$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ring["name"])
    expect(page.get_by_text(f"Welkom, {APPLICANT['name']}.")).to_be_visible()


def test_signup_approval_and_first_login(page: Page, ring):
    sign_up(page, ring, screenshot=SCREENSHOT)

    log_in(page, ring["coordinator_email"])
    open_member_admin(page, ring)
    row = applicant_row(page)
    expect(row.locator(".status")).to_have_text("wacht op goedkeuring")

    # Marks that a full page load would wipe out: htmx must swap only the row.
    page.evaluate("window.stillTheSamePage = true")
    page.evaluate("document.querySelector('h1').dataset.marker = 'kept'")
    row.get_by_role("button", name="Toelaten").click()
    expect(row.locator(".status")).to_have_text("actief")
    expect(row).to_contain_text(f"{APPLICANT['name']} is toegelaten.")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("document.querySelector('h1').dataset.marker") == "kept"
    log_out(page)

    new_member_sees_start_page(page, ring)


def test_signup_approval_and_first_login_without_javascript(browser, live_url, ring):
    context = browser.new_context(base_url=live_url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_up(page, ring)

        log_in(page, ring["coordinator_email"])
        open_member_admin(page, ring)
        row = applicant_row(page)
        expect(row.locator(".status")).to_have_text("wacht op goedkeuring")
        with page.expect_navigation():
            row.get_by_role("button", name="Toelaten").click()
        # A plain POST, then back to the list with the message at the top of the page.
        expect(page.get_by_role("heading", level=1)).to_have_text("Ledenbeheer")
        expect(page.locator("#messages")).to_contain_text(f"{APPLICANT['name']} is toegelaten.")
        expect(applicant_row(page).locator(".status")).to_have_text("actief")
        log_out(page)

        new_member_sees_start_page(page, ring)
    finally:
        context.close()
