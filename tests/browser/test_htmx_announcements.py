"""What htmx changes on a page is told to screen readers and keeps the keyboard focus:
a coordinator admits a member from the member list (the row is drawn again), and the
page's live region says so while the focus lands on that member's row."""

import pytest
from playwright.sync_api import Page, expect

from ruilkring.members.models import MemberRole, MemberStatus
from tests import factories
from tests.browser.helpers import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def ring(create):
    def build():
        ring = factories.RingFactory(name="Ruilkring De Linde", slug="de-linde")
        factories.MemberFactory(ring=ring, role=MemberRole.COORDINATOR, user__name="Cora Coördinator",
                                user__email="cora@example.org")
        factories.MemberFactory(ring=ring, user__name="Nieuwe Nel", status=MemberStatus.PENDING)
        return {"slug": ring.slug}

    return create(build)


def test_admitting_a_member_is_announced_and_keeps_the_focus_on_the_row(page: Page, ring):
    log_in(page, "cora@example.org")
    page.goto(f"/kring/{ring['slug']}/beheer/leden")
    row = page.get_by_role("row").filter(has_text="Nieuwe Nel")

    row.get_by_role("button", name="Toelaten").click()

    expect(page.locator("#messages")).to_have_text("Nieuwe Nel is toegelaten.")
    expect(page.locator("#messages")).to_have_attribute("aria-live", "polite")  # the region itself stayed
    expect(page.get_by_role("link", name="Nieuwe Nel")).to_be_focused()
    expect(page.get_by_role("row").filter(has_text="Nieuwe Nel")).to_contain_text("Nieuwe Nel is toegelaten.")
    expect(page.locator(".alert")).to_have_count(0)  # said once on screen: in the row
