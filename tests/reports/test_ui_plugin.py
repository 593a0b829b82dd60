"""The AirflowPlugin inside Airflow's real api-server app (``create_app``): mounted through the plugin
manager, behind Airflow's authentication (a JWT issued by Airflow's auth manager), no path traversal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reports.conftest import WEEK

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api() -> Any:
    """Airflow's api-server app (core API + plugins) and a token issued the way its login does."""
    import os

    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", "socialaudit-tests-only-0123456789abcdef0123456789abcdef0123456789abcdef")
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    client = TestClient(create_app("core"))
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    return client, token


def test_the_plugin_is_registered_with_a_menu_entry(api):
    client, token = api
    plugins = client.get("/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}).json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "socialaudit")
    assert ours["fastapi_apps"][0]["url_prefix"] == "/socialaudit"
    view = ours["external_views"][0]
    assert view["href"] == "/socialaudit/" and view["url_route"] == "socialaudit" and view["category"] == "browse"


def test_401_without_a_login_403_with_a_bad_token(api, demo_week):
    client, _token = api
    assert client.get(f"/socialaudit/{WEEK}/index.html").status_code == 401
    assert client.get("/socialaudit/").status_code == 401
    assert client.get(f"/socialaudit/{WEEK}/index.html", headers={"Authorization": "Bearer not-a-jwt"}).status_code == 403


def test_200_with_a_token_or_the_ui_cookie(api, demo_week):
    client, token = api
    page = client.get(f"/socialaudit/{WEEK}/index.html", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "St Oswin" in page.text and "matrix" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "http" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    school = client.get(f"/socialaudit/{WEEK}/schools/holy-cross.html", cookies={"_token": token})
    assert school.status_code == 200 and "Holy Cross" in school.text
    weeks = client.get("/socialaudit/", headers={"Authorization": f"Bearer {token}"})
    assert weeks.status_code == 200 and f'href="{WEEK}/index.html"' in weeks.text


@pytest.mark.parametrize("path", [
    "/socialaudit/..%2Fsocialaudit.db",
    "/socialaudit/%2e%2e/socialaudit.db",
    f"/socialaudit/{WEEK}/..%2F..%2Fsocialaudit.db",
    f"/socialaudit/{WEEK}/schools/..%2F..%2F..%2Ftrust.yaml",
    "/socialaudit/..%5Csocialaudit.db",
    "/socialaudit/%2Fetc%2Fpasswd",
    "/socialaudit/no-such-week/index.html",
])
def test_404_for_paths_outside_the_reports_folder(api, demo_week, path):
    client, token = api
    assert (demo_week.output / "socialaudit.db").is_file()  # the file exists, it is just not served
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404, (path, response.status_code)


def test_a_symlink_out_of_the_folder_is_not_followed(api, demo_week):
    client, token = api
    (demo_week.output / "reports" / "leak.html").symlink_to(demo_week.config)
    response = client.get("/socialaudit/leak.html", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
