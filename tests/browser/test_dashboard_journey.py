"""The social-effect dashboards in a real browser: a coordinator opens the ring's dashboard
and changes the period (htmx swaps only the panels, no page load); a gemeente viewer opens
the gemeente's page and downloads the CSV report."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.ledger import services as ledger
from ruilkring.members.models import MemberRole
from ruilkring.stats import dashboard
from tests import factories
from tests.browser.helpers import log_in, log_out

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/ruilkring-dashboard.png"


@pytest.fixture
def kring(create):
    """Ruilkring De Linde in Gemeente Lindendorp, today 11 May 2026: twelve members, who
    traded in a circle in April (twelve trades) and once more in March, and a gemeente viewer."""
    clock.freeze(datetime(2026, 5, 11, 10, tzinfo=UTC))
    dashboard._CACHE.clear()

    def build():
        municipality = factories.MunicipalityFactory(name="Gemeente Lindendorp")
        ring = factories.RingFactory(name="Ruilkring De Linde", slug="de-linde", municipality=municipality)
        factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR, user__name="Cora Coördinator",
                                user__email="cora@example.org")
        joined = datetime(2026, 1, 5, tzinfo=UTC)
        members = [factories.MemberFactory(ring=ring, created_at=joined, approved_at=joined,
                                           neighbourhood=ring.neighbourhoods[i % 2]) for i in range(12)]
        accounts = [ledger.account_open(member=m).id for m in members]
        history = [ledger.HistoricalTransfer(accounts[0], accounts[1], 60, datetime(2026, 3, 20, tzinfo=UTC), "hulp")]
        history += [ledger.HistoricalTransfer(accounts[i], accounts[(i + 1) % 12], 60,
                                              datetime(2026, 4, 1 + i, tzinfo=UTC), "hulp") for i in range(12)]
        run_ledger_transaction(lambda: ledger.transfers_bulk_load(ring=ring, transfers=history))
        factories.UserFactory(municipality=municipality, name="Vera Gemeente", email="vera@example.org")
        return {"slug": ring.slug}

    yield create(build)
    dashboard._CACHE.clear()


def headline(page: Page, label: str):
    return page.locator(".headline").filter(has=page.locator(".label", has_text=re.compile(f"^{label}$"))) \
        .locator(".value")


def test_coordinator_changes_the_period_and_only_the_panels_change(page: Page, kring):
    slug = kring["slug"]
    log_in(page, "cora@example.org")
    page.goto(f"/kring/{slug}/beheer")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Werkt de kring?")
    panels = page.locator("#dashboard-panels")
    expect(panels.locator(".period-title")).to_have_text("1 april 2026 – 30 juni 2026")
    expect(headline(page, "Ruilen")).to_have_text("12")

    # Marks that a full page load would wipe out: htmx must swap only the panels.
    page.evaluate("window.stillTheSamePage = true")
    page.evaluate("document.querySelector('h1').dataset.marker = 'kept'")
    page.get_by_label("Periode").select_option(label="Maand")
    expect(panels.locator(".period-title")).to_have_text("1 april 2026 – 30 april 2026")
    page.get_by_label("Met daarin de datum").fill("2026-03-15")
    expect(panels.locator(".period-title")).to_have_text("1 maart 2026 – 31 maart 2026")
    expect(headline(page, "Ruilen")).to_have_text("1")
    expect(headline(page, "Nieuwe verbindingen")).to_have_text("1")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("document.querySelector('h1').dataset.marker") == "kept"
    # The address follows, so the period can be bookmarked and shared.
    expect(page).to_have_url(re.compile(r"periode=maand.*datum=2026-03-15"))
    page.screenshot(path=SCREENSHOT, full_page=True)

    # The CSV links in the new panels are for the new period.
    csv_link = panels.locator("#chart-trades").get_by_role("link", name="Download als CSV")
    with page.expect_download() as download_info:
        csv_link.click()
    text = open(download_info.value.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0] == "Maand;Ruilen;Uren"
    assert text.splitlines()[-1] == "mrt 2026;1;1.000"
    log_out(page)


def test_gemeente_viewer_opens_the_dashboard_and_downloads_the_csv_report(page: Page, kring):
    log_in(page, "vera@example.org")
    page.get_by_role("link", name="Gemeente", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ruilkringen in Gemeente Lindendorp")
    expect(page.locator(".period-title")).to_have_text("Kwartaal: 2026 K1")
    core = page.locator("section").filter(has=page.get_by_role("heading", name="Kerncijfers"))
    expect(core.get_by_role("row").filter(has_text="Hele gemeente")).to_contain_text("<5")

    page.get_by_label("Kwartaal", exact=True).select_option(label="2025 K4")
    page.get_by_role("button", name="Toon").click()
    expect(page.locator(".period-title")).to_have_text("Kwartaal: 2025 K4")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download als CSV").click()
    download = download_info.value
    assert download.suggested_filename == "ruilkringen-gemeente-lindendorp-2025-4.csv"
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = [line.split(";") for line in text.splitlines() if line]
    assert rows[0][:3] == ["Kerncijfers", "Kring", "Leden"]
    assert rows[1][:3] == ["Kerncijfers", "Hele gemeente", "<5"]  # nobody had joined yet
    assert any(row[0] == "Ontwikkeling per kwartaal" for row in rows)
    log_out(page)
