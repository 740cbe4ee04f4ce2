"""Steps that several browser journeys take."""

from playwright.sync_api import Page, expect

from tests import factories


def log_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    page.goto("/inloggen")
    page.get_by_label("E-mailadres", exact=True).fill(email)
    page.get_by_label("Wachtwoord", exact=True).fill(password)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_text("U bent uitgelogd.")).to_be_visible()
    expect(page.get_by_role("link", name="Inloggen")).to_be_visible()
