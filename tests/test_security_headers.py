"""Every response carries the security headers (Flask-Talisman): the pages may load only
what the site itself serves, no other site may frame them, and HTTPS is remembered."""

from tests.helpers import url


def test_pages_carry_the_security_headers(client, ring):
    for path in ("/", "/inloggen", url(ring, "/aanmelden"), "/api/v1/openapi.json", "/bestaat-niet"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "object-src 'none'" in policy and "form-action 'self'" in policy, path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP: nothing to remember


def test_https_is_remembered_but_http_is_not_redirected_by_the_app(client):
    response = client.get("/inloggen", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31556926")
    assert client.get("/inloggen").status_code == 200  # the proxy redirects http, not the app


def test_the_session_cookie_is_not_made_secure_outside_production(app):
    assert app.config["SESSION_COOKIE_SECURE"] is False and app.config["SESSION_COOKIE_HTTPONLY"] is True
