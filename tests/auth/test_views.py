"""Account pages: log in and out, login limits, password reset by mail, password change, account."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.security import check_password_hash

from ruilkring import clock
from ruilkring.extensions import db
from tests import factories
from tests.helpers import field_error, mail_link, text

WRONG_CREDENTIALS = "Dit e-mailadres en wachtwoord horen niet bij elkaar."
NEW_PASSWORD = "een gloednieuw wachtwoord"


def without_csrf(html: str) -> str:
    """The page without its CSRF tokens, which carry a timestamp."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def post_login(client, email, password, remote_addr="127.0.0.1", **extra):
    return client.post(
        "/inloggen", data={"email": email, "password": password, **extra},
        environ_base={"REMOTE_ADDR": remote_addr},
    )


def signed_in_as(client) -> str | None:
    """The name of the signed-in user as the account page shows it, or None when signed out."""
    response = client.get("/account")
    if response.status_code != 200:
        return None
    return re.search(r"Uw e-mailadres: (\S+)</p>", text(response)).group(1)


def set_cookie_headers(response) -> str:
    return "\n".join(response.headers.getlist("Set-Cookie"))


def reset_link(outbox) -> str:
    """The password link in the newest mail, as a path."""
    return mail_link(outbox()[0], "/wachtwoord-instellen/")


# Logging in and out

def test_login_page_renders(client):
    response = client.get("/inloggen")
    assert response.status_code == 200
    assert 'name="remember"' in text(response)


def test_login_with_right_password_signs_in_and_goes_home(client):
    user = factories.UserFactory()
    db.session.commit()
    response = post_login(client, user.email, factories.PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in_as(client) == user.email
    assert user.last_login_at is not None


def test_login_with_wrong_password_shows_message(client):
    user = factories.UserFactory()
    db.session.commit()
    response = post_login(client, user.email, "verkeerd wachtwoord")
    assert response.status_code == 200
    assert WRONG_CREDENTIALS in text(response)
    assert signed_in_as(client) is None


def test_unknown_email_gives_the_same_message_as_a_wrong_password(client):
    user = factories.UserFactory()
    db.session.commit()
    wrong_password = post_login(client, user.email, "verkeerd wachtwoord")
    unknown = post_login(client, "niemand@example.org", "verkeerd wachtwoord")
    assert unknown.status_code == wrong_password.status_code == 200
    assert WRONG_CREDENTIALS in text(unknown)
    # the page differs only in the e-mail address typed back into the field
    assert without_csrf(text(unknown)).replace("niemand@example.org", user.email) == without_csrf(
        text(wrong_password))


def test_login_form_requires_both_fields(client):
    response = client.post("/inloggen", data={"email": "", "password": ""})
    assert response.status_code == 200
    assert field_error(response, "email") == "Vul uw e-mailadres in."
    assert field_error(response, "password") == "Vul uw wachtwoord in."


def test_erased_user_cannot_log_in(client, ring, coordinator):
    from ruilkring.members.services import member_erase

    member = factories.MemberFactory(ring=ring)
    email = member.user.email
    member_erase(member=member, erased_by=coordinator.user, reason="verzoek van het lid")
    db.session.commit()
    response = post_login(client, email, factories.PASSWORD)
    assert response.status_code == 200
    assert WRONG_CREDENTIALS in text(response)
    assert signed_in_as(client) is None


def test_erased_user_loses_a_running_session(client, login, ring, coordinator):
    member = factories.MemberFactory(ring=ring)
    login(member.user)
    member.user.erased_at = clock.now()
    db.session.commit()
    assert signed_in_as(client) is None


@pytest.mark.parametrize("target", ["/account", "/kring/x/start?tab=1"])
def test_login_follows_a_local_next(client, target):
    user = factories.UserFactory()
    db.session.commit()
    response = client.post("/inloggen", query_string={"next": target},
                           data={"email": user.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "evil.example", "javascript:alert(1)",
               "http://ruilkring.test/account"],
)
def test_login_ignores_a_next_to_another_site(client, target):
    user = factories.UserFactory()
    db.session.commit()
    response = client.post("/inloggen", query_string={"next": target},
                           data={"email": user.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/"


def test_protected_page_sends_to_login_with_next(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/inloggen?next=")


def test_signed_in_user_visiting_login_goes_home(client, login):
    user = factories.UserFactory()
    login(user)
    response = client.get("/inloggen")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_by_post_signs_out(client, login):
    user = factories.UserFactory()
    login(user)
    response = client.post("/uitloggen")
    assert response.status_code == 302
    assert signed_in_as(client) is None
    assert "U bent uitgelogd." in text(client.get("/"))


def test_logout_by_get_is_not_allowed(client, login):
    user = factories.UserFactory()
    login(user)
    response = client.get("/uitloggen")
    assert response.status_code == 405
    assert signed_in_as(client) == user.email


def test_remember_me_sets_the_remember_cookie_only_when_ticked(client):
    user = factories.UserFactory()
    db.session.commit()
    without = post_login(client, user.email, factories.PASSWORD)
    assert "session=" in set_cookie_headers(without)
    assert "remember_token" not in set_cookie_headers(without)
    client.post("/uitloggen")
    with_remember = post_login(client, user.email, factories.PASSWORD, remember="y")
    cookie = set_cookie_headers(with_remember)
    assert "remember_token=" in cookie
    assert "HttpOnly" in cookie


def test_remember_cookie_signs_in_again_without_a_session(app, client):
    user = factories.UserFactory()
    db.session.commit()
    post_login(client, user.email, factories.PASSWORD, remember="y")
    client.delete_cookie("session", domain="ruilkring.test")
    assert client.get_cookie("session", domain="ruilkring.test") is None
    assert signed_in_as(client) == user.email


# Login limits

def test_failed_logins_per_account_are_limited(client):
    user = factories.UserFactory()
    db.session.commit()
    for attempt in range(5):  # LOGIN_LIMIT_PER_ACCOUNT: 5 per 15 minutes
        response = post_login(client, user.email, "fout", remote_addr=f"10.0.0.{attempt}")
        assert response.status_code == 200
    # from yet another address, with the right password and another spelling: still refused
    response = post_login(client, user.email.upper(), factories.PASSWORD, remote_addr="10.0.1.1")
    assert response.status_code == 429
    assert signed_in_as(client) is None
    # another account from the same address is not affected
    other = factories.UserFactory()
    db.session.commit()
    assert post_login(client, other.email, factories.PASSWORD, remote_addr="10.0.1.1").status_code == 302


def test_successful_logins_do_not_count_towards_the_limit(client):
    user = factories.UserFactory()
    db.session.commit()
    for _ in range(4):
        assert post_login(client, user.email, "fout").status_code == 200
    for _ in range(6):
        assert post_login(client, user.email, factories.PASSWORD).status_code == 302
        client.post("/uitloggen")
    assert post_login(client, user.email, "fout").status_code == 200  # the fifth failure
    assert post_login(client, user.email, factories.PASSWORD).status_code == 429


def test_failed_logins_per_address_are_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "3 per 15 minutes")
    user = factories.UserFactory()
    db.session.commit()
    for n in range(3):  # different unknown accounts, so only the address limit counts
        assert post_login(client, f"gok{n}@example.org", "fout", remote_addr="10.9.9.9").status_code == 200
    assert post_login(client, user.email, factories.PASSWORD, remote_addr="10.9.9.9").status_code == 429
    # the same person from another address gets in
    assert post_login(client, user.email, factories.PASSWORD, remote_addr="10.8.8.8").status_code == 302


def test_too_many_attempts_page_is_friendly_and_dutch(client):
    for _ in range(5):
        post_login(client, "iemand@example.org", "fout")
    response = post_login(client, "iemand@example.org", "fout")
    assert response.status_code == 429
    html = text(response)
    assert '<html lang="nl">' in html
    assert "Even geduld" in html
    assert "Te veel pogingen achter elkaar. Wacht een kwartier" in html
    assert "Naar de startpagina" in html


def test_viewing_the_login_page_is_never_limited(client):
    for _ in range(40):
        assert client.get("/inloggen").status_code == 200


# Password reset by mail

def test_password_reset_by_mailed_link(client, outbox):
    user = factories.UserFactory(email="wim@example.org")
    db.session.commit()
    response = client.post("/wachtwoord-vergeten", data={"email": "Wim@Example.org"})
    assert response.status_code == 302
    [mail] = outbox()
    assert mail["To"] == "wim@example.org"
    assert mail["Subject"] == "Nieuw wachtwoord instellen"
    link = reset_link(outbox)

    form = client.get(link)
    assert form.status_code == 200
    assert "wim@example.org" in text(form)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/inloggen"
    assert "Uw wachtwoord is ingesteld" in text(client.get("/inloggen"))

    assert post_login(client, user.email, factories.PASSWORD).status_code == 200
    assert post_login(client, user.email, NEW_PASSWORD).status_code == 302


def test_reset_link_works_once(client, outbox):
    factories.UserFactory(email="wim@example.org")
    db.session.commit()
    client.post("/wachtwoord-vergeten", data={"email": "wim@example.org"})
    link = reset_link(outbox)
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.get(link)
    assert again.status_code == 400
    assert "Deze link is al gebruikt. Vraag een nieuwe aan." in text(again)
    posted = client.post(link, data={"password": "nog een ander wachtwoord", "confirm": "nog een ander wachtwoord"})
    assert posted.status_code == 400


def test_expired_reset_link_shows_a_clear_message(app, client, outbox):
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    clock.freeze(start)
    user = factories.UserFactory(email="wim@example.org")
    db.session.commit()
    client.post("/wachtwoord-vergeten", data={"email": "wim@example.org"})
    link = reset_link(outbox)
    clock.freeze(start + timedelta(seconds=app.config["PASSWORD_RESET_MAX_AGE"] + 60))
    response = client.get(link)
    assert response.status_code == 400
    assert "Deze link is verlopen. Vraag een nieuwe aan." in text(response)
    assert "/wachtwoord-vergeten" in text(response)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert check_password_hash(user.password_hash, factories.PASSWORD)


def test_garbage_reset_link_is_refused(client):
    response = client.get("/wachtwoord-instellen/reset/dit-is-geen-token")
    assert response.status_code == 400
    assert "Deze link is ongeldig. Vraag een nieuwe aan." in text(response)


def test_reset_link_with_unknown_purpose_is_not_found(client):
    assert client.get("/wachtwoord-instellen/hack/dit-is-geen-token").status_code == 404


def test_reset_form_checks_the_new_password(client, outbox):
    user = factories.UserFactory(email="wim@example.org")
    db.session.commit()
    client.post("/wachtwoord-vergeten", data={"email": "wim@example.org"})
    link = reset_link(outbox)
    short = client.post(link, data={"password": "kort", "confirm": "kort"})
    assert short.status_code == 200
    assert field_error(short, "password") == "Kies een wachtwoord van minstens 10 tekens."
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert field_error(mismatch, "confirm") == "De twee wachtwoorden zijn niet gelijk."
    assert check_password_hash(user.password_hash, factories.PASSWORD)
    assert client.get(link).status_code == 200  # a failed attempt does not use up the link


def test_unknown_address_gets_the_same_answer_and_no_mail(client, outbox):
    factories.UserFactory(email="wim@example.org")
    db.session.commit()
    unknown = client.post("/wachtwoord-vergeten", data={"email": "niemand@example.org"}, follow_redirects=True)
    assert outbox() == []
    known = client.post("/wachtwoord-vergeten", data={"email": "wim@example.org"}, follow_redirects=True)
    assert len(outbox()) == 1
    assert unknown.status_code == known.status_code == 200
    assert "Als dit adres bij ons bekend is" in text(unknown)
    assert without_csrf(text(unknown)) == without_csrf(text(known))


def test_erased_user_gets_no_reset_mail(client, outbox, ring, coordinator):
    from ruilkring.members.services import member_erase

    member = factories.MemberFactory(ring=ring)
    email = member.user.email
    member_erase(member=member, erased_by=coordinator.user, reason="verzoek")
    db.session.commit()
    response = client.post("/wachtwoord-vergeten", data={"email": email})
    assert response.status_code == 302
    assert outbox() == []


def test_forgot_form_checks_the_address(client, outbox):
    response = client.post("/wachtwoord-vergeten", data={"email": "geen adres"})
    assert response.status_code == 200
    assert field_error(response, "email") == "Dit is geen geldig e-mailadres."
    assert outbox() == []


# Changing the password

def change_password(client, current, new, confirm=None):
    return client.post("/account/wachtwoord", data={
        "current_password": current, "password": new, "confirm": new if confirm is None else confirm,
    })


def test_change_password(client, login):
    user = factories.UserFactory()
    login(user)
    response = change_password(client, factories.PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert "Uw wachtwoord is gewijzigd." in text(client.get("/account"))
    assert check_password_hash(user.password_hash, NEW_PASSWORD)


def test_change_password_with_wrong_current_password(client, login):
    user = factories.UserFactory()
    login(user)
    response = change_password(client, "niet mijn wachtwoord", NEW_PASSWORD)
    assert response.status_code == 200
    assert field_error(response, "current_password") == "Het huidige wachtwoord klopt niet."
    assert check_password_hash(user.password_hash, factories.PASSWORD)


def test_change_password_too_short(client, login):
    user = factories.UserFactory()
    login(user)
    response = change_password(client, factories.PASSWORD, "kort")
    assert response.status_code == 200
    assert field_error(response, "password") == "Kies een wachtwoord van minstens 10 tekens."
    assert check_password_hash(user.password_hash, factories.PASSWORD)


def test_change_password_mismatch(client, login):
    user = factories.UserFactory()
    login(user)
    response = change_password(client, factories.PASSWORD, NEW_PASSWORD, confirm="iets anders dan dat")
    assert response.status_code == 200
    assert field_error(response, "confirm") == "De twee wachtwoorden zijn niet gelijk."
    assert check_password_hash(user.password_hash, factories.PASSWORD)


def test_change_password_requires_login(client):
    response = change_password(client, factories.PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/inloggen")


# The account page

def account_data(**overrides):
    data = {"name": "Wim de Vries", "phone": "06-12345678", "address": "Laan 3", "locale": "nl"}
    data.update(overrides)
    return data


def test_account_page_shows_the_users_details(client, login):
    user = factories.UserFactory(name="Wim de Vries")
    login(user)
    html = text(client.get("/account"))
    assert 'value="Wim de Vries"' in html
    assert user.email in html


def test_account_edit_saves(client, login):
    user = factories.UserFactory()
    login(user)
    response = client.post("/account", data=account_data(name="  Wim  ", phone="06-1"))
    assert response.status_code == 302
    assert (user.name, user.phone, user.address) == ("Wim", "06-1", "Laan 3")
    assert "Uw gegevens zijn opgeslagen." in text(client.get("/account"))


def test_account_edit_requires_a_name(client, login):
    user = factories.UserFactory(name="Wim")
    login(user)
    response = client.post("/account", data=account_data(name=""))
    assert response.status_code == 200
    assert field_error(response, "name") == "Vul uw naam in."
    assert user.name == "Wim"


def test_account_edit_refuses_an_unknown_language(client, login):
    user = factories.UserFactory()
    login(user)
    response = client.post("/account", data=account_data(locale="de"))
    assert response.status_code == 200
    assert field_error(response, "locale") is not None
    assert user.locale == "nl"


def test_switching_the_account_to_english_changes_the_interface(client, login):
    user = factories.UserFactory()
    login(user)
    assert '<html lang="nl">' in text(client.get("/account"))
    client.post("/account", data=account_data(locale="en"))
    assert user.locale == "en"
    html = text(client.get("/account"))
    assert '<html lang="en">' in html
    assert "My account" in html
    assert "Mijn account" not in html
    # the choice belongs to the account: it holds in a new session too
    client.post("/uitloggen")
    login(user)
    assert '<html lang="en">' in text(client.get("/account"))
