"""Account services: authentication, passwords, link tokens and the user's own details."""

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.security import check_password_hash

from ruilkring import clock
from ruilkring.auth import services
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from tests import factories

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_authenticate_with_right_password_records_the_login(app):
    clock.freeze(NOON)
    user = factories.UserFactory(email="wim@example.org")
    assert services.user_authenticate(email="wim@example.org", password=factories.PASSWORD) is user
    assert user.last_login_at == NOON


def test_authenticate_ignores_case_and_spaces_in_the_email(app):
    user = factories.UserFactory(email="wim@example.org")
    assert services.user_authenticate(email="  Wim@Example.ORG ", password=factories.PASSWORD) is user


def test_authenticate_with_wrong_password_gives_none(app):
    user = factories.UserFactory()
    assert services.user_authenticate(email=user.email, password="wrong password") is None
    assert user.last_login_at is None


def test_authenticate_unknown_email_gives_none(app):
    assert services.user_authenticate(email="nobody@example.org", password=factories.PASSWORD) is None


def test_authenticate_refuses_user_without_password(app):
    user = factories.UserFactory(password_hash=None)  # invited, has not chosen a password yet
    assert services.user_authenticate(email=user.email, password="") is None


def test_authenticate_refuses_erased_user_even_with_a_hash(app):
    user = factories.UserFactory(erased_at=NOON)
    assert not user.is_active
    assert services.user_authenticate(email=user.email, password=factories.PASSWORD) is None


def test_password_set_hashes_and_checks_length(app):
    user = factories.UserFactory()
    services.password_set(user=user, password="een heel nieuw wachtwoord")
    assert check_password_hash(user.password_hash, "een heel nieuw wachtwoord")
    with pytest.raises(DomainError) as error:
        services.password_set(user=user, password="123456789")  # one short of the default 10
    assert error.value.field == "password"
    assert "minstens 10 tekens" in str(error.value)
    assert check_password_hash(user.password_hash, "een heel nieuw wachtwoord")


def test_minimum_password_length_comes_from_config(app, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_PASSWORD_LENGTH", 20)
    user = factories.UserFactory()
    with pytest.raises(DomainError) as error:
        services.password_set(user=user, password="negentien tekens!!!")
    assert "minstens 20 tekens" in str(error.value)


def test_password_change_checks_the_current_password(app):
    user = factories.UserFactory()
    with pytest.raises(DomainError) as error:
        services.password_change(user=user, current_password="fout", new_password="een nieuw wachtwoord")
    assert error.value.field == "current_password"
    services.password_change(
        user=user, current_password=factories.PASSWORD, new_password="een nieuw wachtwoord"
    )
    assert check_password_hash(user.password_hash, "een nieuw wachtwoord")


def test_password_change_without_a_password_is_refused(app):
    user = factories.UserFactory(password_hash=None)
    with pytest.raises(DomainError) as error:
        services.password_change(user=user, current_password="", new_password="een nieuw wachtwoord")
    assert error.value.field == "current_password"


def test_reset_token_finds_its_user(app):
    user = factories.UserFactory()
    token = services.password_token_create(user=user)
    assert services.password_token_user(token) is user


def test_reset_token_works_once(app):
    user = factories.UserFactory()
    token = services.password_token_create(user=user)
    services.password_set(user=user, password="een nieuw wachtwoord")
    with pytest.raises(DomainError) as error:
        services.password_token_user(token)
    assert "al gebruikt" in str(error.value)


def test_reset_token_expires_after_the_configured_age(app):
    clock.freeze(NOON)
    user = factories.UserFactory()
    token = services.password_token_create(user=user)
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]
    clock.freeze(NOON + timedelta(seconds=max_age - 1))
    assert services.password_token_user(token) is user
    clock.freeze(NOON + timedelta(seconds=max_age + 1))
    with pytest.raises(DomainError) as error:
        services.password_token_user(token)
    assert "verlopen" in str(error.value)


def test_invite_token_lives_longer_than_a_reset_token(app):
    clock.freeze(NOON)
    user = factories.UserFactory(password_hash=None)
    token = services.password_token_create(user=user, purpose="invite")
    clock.freeze(NOON + timedelta(days=13))
    assert services.password_token_user(token, purpose="invite") is user
    clock.freeze(NOON + timedelta(days=15))
    with pytest.raises(DomainError):
        services.password_token_user(token, purpose="invite")


def test_token_of_one_purpose_is_not_valid_for_the_other(app):
    user = factories.UserFactory()
    token = services.password_token_create(user=user, purpose="invite")
    with pytest.raises(DomainError) as error:
        services.password_token_user(token, purpose="reset")
    assert "ongeldig" in str(error.value)


def test_garbage_token_is_invalid(app):
    with pytest.raises(DomainError) as error:
        services.password_token_user("not-a-token")
    assert "ongeldig" in str(error.value)


def test_token_of_an_erased_user_does_not_work(app):
    user = factories.UserFactory()
    token = services.password_token_create(user=user)
    user.erased_at = clock.now()
    db.session.flush()
    with pytest.raises(DomainError):
        services.password_token_user(token)


def test_update_account_strips_and_saves(app):
    user = factories.UserFactory()
    services.user_update_account(user=user, name="  Wim  ", phone=" 06-1 ", address=" Laan 2 ", locale="en")
    assert (user.name, user.phone, user.address, user.locale) == ("Wim", "06-1", "Laan 2", "en")


def test_update_account_refuses_unknown_language(app):
    user = factories.UserFactory()
    with pytest.raises(DomainError) as error:
        services.user_update_account(user=user, name="Wim", phone="", address="", locale="de")
    assert error.value.field == "locale"
    assert user.locale == "nl"
