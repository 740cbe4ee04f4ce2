"""Configuration: defaults, then RUILKRING_* environment variables, then the dict given."""

import os
import stat

import pytest

from ruilkring import create_app
from ruilkring.config import ConfigError, _development_secret


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No RUILKRING_* settings from the shell running the tests."""
    for name in list(os.environ):
        if name.startswith("RUILKRING_"):
            monkeypatch.delenv(name)


@pytest.fixture
def database_url(tmp_path):
    return f"sqlite:///{tmp_path / 'config.sqlite'}"


def test_production_without_secret_key_refuses_to_start(database_url):
    with pytest.raises(ConfigError) as error:
        create_app({"ENV": "production", "DATABASE_URL": database_url})
    message = str(error.value)
    assert "RUILKRING_SECRET_KEY is not set" in message
    assert "secrets.token_hex(32)" in message


def test_production_is_the_default_environment(database_url):
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": database_url})


def test_production_with_secret_key_is_locked_down(database_url):
    app = create_app({"ENV": "production", "SECRET_KEY": "s3cret", "DATABASE_URL": database_url})
    assert app.config["SECRET_KEY"] == "s3cret"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_HTTPONLY"]
    assert app.config["MAIL_BACKEND"] == "smtp"


def test_unknown_environment_is_refused(database_url):
    with pytest.raises(ConfigError) as error:
        create_app({"ENV": "staging", "SECRET_KEY": "x", "DATABASE_URL": database_url})
    assert "production, development or testing" in str(error.value)


def test_development_writes_mail_to_the_outbox(database_url, tmp_path):
    app = create_app({"ENV": "development", "SECRET_KEY": "x", "DATABASE_URL": database_url,
                      "OUTBOX_DIR": str(tmp_path / "mail")})
    assert app.config["MAIL_BACKEND"] == "file"
    assert app.config["MAIL_FILE_PATH"] == str(tmp_path / "mail")
    assert not app.config["SESSION_COOKIE_SECURE"]


def test_environment_variables_are_read(monkeypatch, database_url):
    monkeypatch.setenv("RUILKRING_ENV", "production")
    monkeypatch.setenv("RUILKRING_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("RUILKRING_DATABASE_URL", database_url)
    monkeypatch.setenv("RUILKRING_MIN_PASSWORD_LENGTH", "14")
    monkeypatch.setenv("RUILKRING_LOGIN_LIMIT_PER_ACCOUNT", "3 per 10 minutes")
    app = create_app()
    assert app.config["ENV"] == "production"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url
    assert app.config["MIN_PASSWORD_LENGTH"] == 14  # JSON-decoded: a number, not a string
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"] == "3 per 10 minutes"


def test_the_config_dict_wins_over_the_environment(monkeypatch, database_url):
    monkeypatch.setenv("RUILKRING_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("RUILKRING_MIN_PASSWORD_LENGTH", "14")
    app = create_app({"ENV": "testing", "SECRET_KEY": "from-the-dict", "DATABASE_URL": database_url})
    assert app.config["SECRET_KEY"] == "from-the-dict"
    assert app.config["MIN_PASSWORD_LENGTH"] == 14


def test_plain_postgresql_url_gets_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("RUILKRING_DATABASE_URL", "postgresql://ruil:kring@db.example/ruilkring")
    app = create_app({"ENV": "testing", "SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://ruil:kring@db.example/ruilkring"


def test_database_defaults_to_sqlite_in_the_instance_folder():
    app = create_app({"ENV": "testing", "SECRET_KEY": "x"})
    expected = os.path.join(app.instance_path, "ruilkring.sqlite")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{expected}"


def test_development_secret_is_kept_private_and_stable(tmp_path):
    first = _development_secret(tmp_path / "instance")
    assert len(first) == 64
    path = tmp_path / "instance" / "dev-secret-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _development_secret(tmp_path / "instance") == first
