"""Automated accessibility checks with axe-core (installed from npm by ``make``) on the
main pages of each kind of user, in Chromium, against the demo data: WCAG 2.1 A and AA
rules. A rule axe cannot decide (``incomplete``) is left to people; a violation fails."""

from pathlib import Path

import pytest
from playwright.sync_api import Page

from ruilkring.demo import DEMO_PASSWORD, demo_load
from ruilkring.disputes.models import Dispute
from ruilkring.extensions import db
from ruilkring.listings.models import Listing
from ruilkring.members.models import Member
from ruilkring.rings.models import Ring
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """axe is injected into the pages as a script of their own, which the site's Content
    Security Policy forbids (rightly): the browser lets it in for these tests only."""
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture
def demo(create):
    def build():
        demo_load(members=20, months=3, seed=7)
        ring = db.session.scalars(db.select(Ring).order_by(Ring.id)).first()
        return {
            "slug": ring.slug,
            "member_id": db.session.scalars(db.select(Member.id).where(Member.ring_id == ring.id)).first(),
            "listing_id": db.session.scalars(db.select(Listing.id).where(Listing.ring_id == ring.id)).first(),
            "dispute_id": db.session.scalars(db.select(Dispute.id).where(Dispute.ring_id == ring.id)).first(),
        }

    return create(build)


def violations(page: Page, path: str) -> list[str]:
    response = page.goto(path)
    if response.status != 200:
        return [f"{path}: HTTP {response.status}"]
    return axe(page, path)


def axe(page: Page, where: str) -> list[str]:
    """What axe finds on the page as it is now, one line per rule broken."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES)
    return [f"{where}: {v['id']} ({v['impact']}): {v['help']} -- "
            + "; ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"])
                        for node in v["nodes"][:3])
            for v in result["violations"]]


def test_axe_finds_nothing_on_the_pages_of_members_coordinators_and_the_gemeente(page: Page, demo):
    assert AXE.is_file(), f"axe-core is missing at {AXE}: run `make install` (npm ci installs it)"
    ring = f"/kring/{demo['slug']}"
    found = []
    for path in ("/", "/inloggen", f"{ring}/aanmelden"):
        found += violations(page, path)
    log_in(page, "lid@example.org", DEMO_PASSWORD)
    for path in (f"{ring}/start", f"{ring}/aanbod-en-vraag", f"{ring}/aanbod-en-vraag/{demo['listing_id']}",
                 f"{ring}/aanbod-en-vraag/nieuw", f"{ring}/betalen", f"{ring}/saldo", f"{ring}/betaalverzoeken",
                 f"{ring}/berichten", f"{ring}/leden", f"{ring}/leden/{demo['member_id']}", "/account",
                 "/meldingen"):
        found += violations(page, path)
    page.goto(f"{ring}/betalen")
    page.get_by_role("button", name="Verder").click()  # a form refused: errors and summary
    found += axe(page, "refused pay form")
    page.get_by_role("button", name="English").click()  # the same pages in English
    for path in (f"{ring}/start", f"{ring}/betalen", f"{ring}/saldo"):
        found += [f"(English) {line}" for line in violations(page, path)]
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Nederlands").click()
    page.get_by_role("button", name="Uitloggen").click()
    log_in(page, "coordinator@example.org", DEMO_PASSWORD)
    for path in (f"{ring}/beheer", f"{ring}/beheer/leden", f"{ring}/beheer/transacties", f"{ring}/beheer/dashboard",
                 f"{ring}/beheer/netwerk", f"{ring}/beheer/geschillen", f"{ring}/beheer/logboek",
                 f"{ring}/beheer/groepsboeking", f"{ring}/beheer/categorieen"):
        found += violations(page, path)
    if demo["dispute_id"]:
        found += violations(page, f"{ring}/geschillen/{demo['dispute_id']}")
    # On a phone's 320 pixels (or zoomed in 400 %) the page keeps the screen's width: wide
    # tables scroll on their own (WCAG 1.4.10).
    page.set_viewport_size({"width": 320, "height": 640})
    for path in (f"{ring}/beheer/leden", f"{ring}/beheer/dashboard", f"{ring}/beheer/transacties", f"{ring}/saldo",
                 f"{ring}/aanbod-en-vraag", f"{ring}/start", f"{ring}/beheer"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            found.append(f"{path}: {width} pixels wide at 320")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.get_by_role("button", name="Uitloggen").click()
    log_in(page, "gemeente@example.org", DEMO_PASSWORD)
    found += violations(page, "/gemeente")
    assert found == []
