"""A dispute in a real browser: a member contests a payment from their statement, the
other party responds, a coordinator resolves it with a partial correction, and both
statements show the result."""

import pytest
from playwright.sync_api import Page, expect

from ruilkring.database import run_ledger_transaction
from ruilkring.ledger import services as ledger
from ruilkring.members.models import MemberRole
from tests import factories
from tests.browser.helpers import log_in, log_out

pytestmark = pytest.mark.browser


@pytest.fixture
def trade(create):
    """Piet paid Anna two hours for painting; Cora coordinates."""

    def build():
        ring = factories.RingFactory(name="Ruilkring De Linde", slug="de-linde")
        payer = factories.MemberFactory(ring=ring, user__name="Piet Betaler", user__email="piet@example.org")
        payee = factories.MemberFactory(ring=ring, user__name="Anna Helper", user__email="anna@example.org")
        factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR, user__name="Cora Coördinator",
                                user__email="cora@example.org")
        run_ledger_transaction(lambda: ledger.payment_create(
            payer=payer, payee=payee, amount=120, description="Schilderwerk", idempotency_key="paint"))
        return {"slug": ring.slug}

    return create(build)


def balance_on_statement(page: Page, slug: str) -> str:
    page.goto(f"/kring/{slug}/saldo")
    return page.locator(".balance").inner_text()


def test_dispute_from_statement_to_partial_correction(page: Page, trade):
    slug = trade["slug"]
    log_in(page, "piet@example.org")
    page.goto(f"/kring/{slug}/saldo")
    page.get_by_role("row").filter(has_text="Schilderwerk").get_by_role(
        "link", name="Klopt dit niet? Geschil melden").click()
    page.get_by_label("Het bedrag klopt niet").check()
    page.get_by_label("Een deel terug, of een correctie").check()
    page.get_by_label("Uitleg").fill("Het was maar één uur werk.")
    page.get_by_role("button", name="Geschil melden").click()
    expect(page.get_by_text("Uw melding is ontvangen")).to_be_visible()
    log_out(page)

    log_in(page, "anna@example.org")
    page.goto(f"/kring/{slug}/geschillen")
    page.locator("table a").first.click()
    page.get_by_label("Tekst").fill("Het waren echt bijna twee uur, maar ik wil best praten.")
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_text("bijna twee uur")).to_be_visible()
    log_out(page)

    log_in(page, "cora@example.org")
    page.goto(f"/kring/{slug}/beheer/geschillen")
    page.locator("table a").first.click()
    page.get_by_role("button", name="Ik pak dit op").click()
    expect(page.get_by_text("bemiddelt nu")).to_be_visible()
    page.get_by_label("Een correctie boeken").check()
    page.get_by_label("Bedrag van de correctie").fill("0:30")
    page.get_by_label("Terug naar wie betaalde").check()
    page.get_by_label("Afspraak of reden").fill("Samen afgesproken: een half uur terug.")
    page.get_by_role("button", name="Geschil afhandelen").click()
    expect(page.get_by_text("Het geschil is afgehandeld")).to_be_visible()
    log_out(page)

    log_in(page, "piet@example.org")
    assert balance_on_statement(page, slug) == "-1:30 uur"
    log_out(page)
    log_in(page, "anna@example.org")
    assert balance_on_statement(page, slug) == "1:30 uur"
