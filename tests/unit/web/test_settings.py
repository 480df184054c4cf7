"""A bad CRM_WEB_* setting stops the web app with one line naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"CRM_WEB_PORT": "not-a-port"}, "CRM_WEB_PORT"),
        ({"CRM_WEB_SESSION_SECRET": "short"}, "CRM_WEB_SESSION_SECRET"),
        ({"CRM_WEB_TIMEZONE": "Mars/Olympus"}, "CRM_WEB_TIMEZONE"),
        ({"CRM_WEB_OIDC_ISSUER": "https://idp.example"}, "CRM_WEB_OIDC_CLIENT_ID"),
        ({"CRM_WEB_OIDC_TOKEN": "refresh_token"}, "CRM_WEB_OIDC_TOKEN"),
    ],
)
def test_a_bad_setting_stops_the_app_with_one_line(env: dict[str, str], name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c",
         "from crmkit.settings import load_settings; from web.settings import WebSettings; "
         "load_settings(WebSettings)"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"invalid setting {name}:")
