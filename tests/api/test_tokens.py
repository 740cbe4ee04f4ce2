"""Making and revoking API tokens: on the own-account page and with the operators' CLI."""

import re

from sqlalchemy import select

from ruilkring.api.models import ApiToken
from ruilkring.extensions import db
from ruilkring.members.models import MemberStatus
from tests import factories
from tests.api.conftest import bearer
from tests.helpers import field_error, redirect_path, text


def tokens() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def new_token(html: str) -> str:
    return re.search(r'<code id="new-token">([^<]+)</code>', html).group(1)


def test_account_page_links_to_the_tokens(client, login, member):
    login(member.user)
    assert "/account/api-sleutels" in text(client.get("/account"))


def test_member_makes_a_token_that_is_shown_once_and_works(client, login, member):
    login(member.user)
    page = client.post("/account/api-sleutels", data={"member_id": member.id, "name": "Spreadsheet"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    token = new_token(text(page))
    [row] = tokens()
    assert (row.member_id, row.name) == (member.id, "Spreadsheet")
    assert token not in text(client.get("/account/api-sleutels"))  # never shown again
    assert "Spreadsheet" in text(client.get("/account/api-sleutels"))
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["member_id"] == member.id


def test_a_token_needs_a_name(client, login, member):
    login(member.user)
    page = client.post("/account/api-sleutels", data={"member_id": member.id, "name": ""})
    assert field_error(page, "name") and not tokens()


def test_a_token_is_only_for_one_s_own_active_memberships(client, login, member, stranger):
    pending = factories.MemberFactory(user=member.user, status=MemberStatus.PENDING)
    login(member.user)
    for member_id in (stranger.id, pending.id):
        page = client.post("/account/api-sleutels", data={"member_id": member_id, "name": "x"})
        assert field_error(page, "member_id")
    assert not tokens()


def test_member_revokes_a_token(client, login, member):
    login(member.user)
    token = new_token(text(client.post("/account/api-sleutels", data={"member_id": member.id, "name": "app"})))
    [row] = tokens()
    response = client.post(f"/account/api-sleutels/{row.id}/intrekken")
    assert redirect_path(response) == "/account/api-sleutels"
    assert tokens()[0].revoked_at is not None
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_nobody_revokes_another_s_token(client, login, member, stranger):
    login(stranger.user)
    client.post("/account/api-sleutels", data={"member_id": stranger.id, "name": "app"})
    [row] = tokens()
    client.post("/uitloggen")
    login(member.user)
    assert client.post(f"/account/api-sleutels/{row.id}/intrekken").status_code == 404
    assert tokens()[0].revoked_at is None


def test_operator_makes_a_token_on_the_command_line(app, member, stranger):
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-token", member.user.email, "--name", "koppeling"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    [row] = tokens()
    assert row.name == "koppeling" and row.member_id == member.id
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_command_line_needs_a_ring_when_the_user_has_several(app, member):
    second = factories.MemberFactory(user=member.user)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-token", member.user.email])
    assert result.exit_code != 0
    assert f"{member.user.email} is lid van meerdere kringen" in result.output
    assert "kies er een met --ring." in result.output
    result = runner.invoke(args=["api-token", member.user.email, "--ring", "nergens"])
    assert result.exit_code != 0
    assert f"{member.user.email} is geen lid van kring nergens." in result.output
    result = runner.invoke(args=["api-token", member.user.email, "--ring", second.ring.slug])
    assert result.exit_code == 0, result.output
    assert tokens()[0].member_id == second.id
    result = runner.invoke(args=["api-token", "nobody@example.org"])
    assert result.exit_code != 0
    assert "Er is geen gebruiker met e-mailadres nobody@example.org." in result.output
