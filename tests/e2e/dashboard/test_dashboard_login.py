"""Dashboard sign-in with TestClient against the real reporting app: redirects, refusals, the cookie."""

import os

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


def test_login_sets_a_strict_httponly_cookie_and_redirects_to_next(client):
    client.cookies.clear()
    response = client.get("/dashboard/login", params={"token": token("inspector"), "next": "/dashboard/bulletins"},
                          follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/bulletins"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert "已发布通报" in client.get("/dashboard/bulletins").text
    form = client.post("/dashboard/login", data={"token": token("city_org"), "next": "/dashboard/entities"},
                       follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/dashboard/entities"


def test_a_bad_token_is_refused_with_the_form_again(client):
    client.cookies.clear()
    response = client.get("/dashboard/login", params={"token": "forged.token"}, follow_redirects=False)
    assert response.status_code == 401 and "令牌无效" in response.text and "set-cookie" not in response.headers


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/dashboard", "/audit/events"])
def test_login_refuses_a_next_outside_the_dashboard(client, next_path):
    response = client.get("/dashboard/login", params={"token": token("inspector"), "next": next_path},
                          follow_redirects=False)
    assert response.status_code == 400 and "next" in response.text and "set-cookie" not in response.headers


def test_a_department_without_read_all_gets_a_recorded_403_page(client):
    client.cookies.clear()
    user = f"district-{os.urandom(4).hex()}"
    response = client.get("/dashboard/login", params={"token": token("district_org", user, "420102")},
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
