"""Dashboard sign-in with TestClient against the real reporting app: the POST form exchanging a token for a
server-side session, redirects, refusals, the cookie, logout; no token accepted in a URL."""

import os
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from platform_core.auth import Principal
from platform_core.tokens import issuer_from_settings


@pytest.fixture(scope="module")
def client():
    from reporting.entrypoints.http import app
    with TestClient(app) as c:
        yield c


def token(kind: str, user: str = "login-test", territory: str | None = None) -> str:
    department = f"{kind}:{territory}" if territory else kind
    return issuer_from_settings().issue(Principal(department, kind, user, territory))


def test_an_unauthenticated_page_redirects_to_the_login_page(client):
    client.cookies.clear()
    response = client.get("/dashboard/districts/420102?state=open", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?next=%2Fdashboard%2Fdistricts%2F420102%3Fstate%3Dopen"
    assert "令牌" in client.get(response.headers["location"]).text


def sign_in(client, kind: str = "inspector", next_path: str = "/dashboard/bulletins", **extra):
    return client.post("/dashboard/login", data={"token": token(kind, **extra), "next": next_path},
                       follow_redirects=False)


def test_login_exchanges_the_token_for_a_session_in_a_strict_httponly_cookie(client):
    client.cookies.clear()
    issued = token("inspector")
    response = client.post("/dashboard/login", data={"token": issued, "next": "/dashboard/bulletins"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/bulletins"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    session_id = re.match(r"campaign_dashboard_session=([^;]+);", cookie).group(1)
    assert issued not in cookie and len(session_id) >= 40  # a random id, never the token
    assert "已发布通报" in client.get("/dashboard/bulletins").text
    with client.app.state.engine.connect() as conn:  # stored server-side as the id's hash, with an expiry
        row = conn.execute(sa.text(
            "SELECT principal->>'kind' AS kind, expires_at - created_at AS ttl FROM reporting.dashboard_sessions"
            " WHERE id_sha256 = sha256(convert_to(:s, 'UTF8'))"), {"s": session_id}).first()
    assert row.kind == "inspector" and row.ttl.total_seconds() == 4 * 3600


def test_a_token_in_the_url_is_not_accepted(client):
    client.cookies.clear()
    response = client.get("/dashboard/login", params={"token": token("inspector"), "next": "/dashboard/bulletins"},
                          follow_redirects=False)
    assert response.status_code == 200 and "set-cookie" not in response.headers and "<form method=\"post\"" in response.text
    assert client.get("/dashboard/bulletins", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(client):
    client.cookies.clear()
    session_id = re.match(r"campaign_dashboard_session=([^;]+);", sign_in(client).headers["set-cookie"]).group(1)
    assert client.get("/dashboard/bulletins", follow_redirects=False).status_code == 200
    out = client.post("/dashboard/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/login"
    # the old cookie, replayed after logout, no longer opens a page
    client.cookies.set("campaign_dashboard_session", session_id, path="/dashboard")
    assert client.get("/dashboard/bulletins", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("forged", ["", "x" * 200, "not-a-session"])
def test_an_unknown_session_id_leads_to_the_login_page(client, forged):
    client.cookies.clear()
    client.cookies.set("campaign_dashboard_session", forged, path="/dashboard")
    response = client.get("/dashboard/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/dashboard/login")


def test_a_bad_token_is_refused_with_the_form_again(client):
    client.cookies.clear()
    response = client.post("/dashboard/login", data={"token": "forged.token"}, follow_redirects=False)
    assert response.status_code == 401 and "令牌无效" in response.text and "set-cookie" not in response.headers
    empty = client.post("/dashboard/login", data={"token": "  "}, follow_redirects=False)
    assert empty.status_code == 401 and "请填写令牌" in empty.text


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/dashboard", "/audit/events"])
def test_login_refuses_a_next_outside_the_dashboard(client, next_path):
    response = sign_in(client, next_path=next_path)
    assert response.status_code == 400 and "next" in response.text and "set-cookie" not in response.headers


def test_a_department_without_read_all_gets_a_recorded_403_page(client):
    client.cookies.clear()
    user = f"district-{os.urandom(4).hex()}"
    response = client.post("/dashboard/login", data={"token": token("district_org", user, "420102")},
                           follow_redirects=False)
    assert response.status_code == 403 and "无权访问" in response.text
    header = client.get("/dashboard/", headers={"Authorization": f"Bearer {token('district_org', user, '420102')}"},
                        follow_redirects=False)
    assert header.status_code == 403
    with client.app.state.engine.connect() as conn:
        recorded = conn.execute(sa.text("SELECT count(*) FROM reporting.refused_commands WHERE user_name = :u"),
                                {"u": user}).scalar()
    assert recorded == 2


def test_the_api_keeps_its_json_errors(client):
    response = client.get("/rates", headers={"Authorization": f"Bearer {token('district_org', 'x', '420102')}"})
    assert response.status_code == 200
    refused = client.post("/bulletins", json={"cutoff_date": "2016-09-10"},
                          headers={"Authorization": f"Bearer {token('district_org', 'x', '420102')}"})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
