"""HTTP conventions of API.md: one error shape, JSON rules, headers, OpenAPI, health."""

import pytest

from practice.api import health
from tests.factories import bearer, make_practice, make_user
from tests.helpers import assert_error


def test_unknown_route_is_404_in_error_shape(client):
    assert_error(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_405(client):
    response = client.delete("/api/v1/health")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_non_json_body_is_415(client):
    response = client.post(
        "/api/v1/auth/login",
        data="email=a&password=b",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415)


def test_malformed_json_is_400(client):
    response = client.post("/api/v1/auth/login", data='{"email": ', content_type="application/json")
    assert_error(response, 400)


def test_body_over_limit_is_413(client):
    response = client.post(
        "/api/v1/auth/login", data="x" * (1024 * 1024 + 10), content_type="application/json"
    )
    assert_error(response, 413)


def test_validation_is_422_with_field_errors(client):
    body = assert_error(client.post("/api/v1/auth/login", json={"email": 5}), 422)
    fields = body["errors"]["json"]
    assert "email" in fields and "password" in fields


def test_unknown_field_is_422(client):
    body = assert_error(
        client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x", "admin": True}),
        422,
    )
    assert "admin" in body["errors"]["json"]


def test_unexpected_exception_is_500_without_detail(client, monkeypatch, caplog):
    def explode(self):
        raise RuntimeError("secret-detail-canary")

    monkeypatch.setattr(health.Health, "get", explode)
    response = client.get("/api/v1/health")
    body = assert_error(response, 500)
    assert "secret-detail-canary" not in response.get_data(as_text=True)
    assert body["message"] == "An unexpected error occurred."
    assert any("RuntimeError" in r.getMessage() for r in caplog.records)


def test_health_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "keys": "ok"}


def test_security_headers(client):
    response = client.get("/api/v1/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_openapi_document_and_offline_docs(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/health" in spec.get_json()["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-5.35.0/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    with client.get("/api/docs/static/swagger-ui-5.35.0/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200


@pytest.mark.parametrize("bad", ["not-a-uuid", "1' OR '1'='1", "%00", "ümlaut"])
def test_non_uuid_ids_are_404(client, bad):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    assert_error(client.get(f"/api/v1/users/{bad}", headers=bearer(owner)), 404)
