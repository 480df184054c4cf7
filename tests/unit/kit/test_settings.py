from __future__ import annotations

import subprocess
import sys

import pytest

from crmkit.settings import Settings, load_settings


def test_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.gateway_port == 4000
    assert settings.service_port("pipeline") == 4002


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_LEADS_PORT", "5001")
    monkeypatch.setenv("CRM_NATS_URL", "nats://10.0.0.1:4222")
    settings = load_settings(Settings)
    assert settings.leads_port == 5001
    assert settings.nats_url == "nats://10.0.0.1:4222"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CRM_GATEWAY_PORT", "not-a-port"),
        ("CRM_PIPELINE_PORT", "70000"),
        ("CRM_DATABASE_URL", "mysql://x"),
        ("CRM_NATS_URL", "http://x"),
        ("CRM_JWT_SECRET", "short"),
        ("CRM_ENVIRONMENT", "staging"),
    ],
)
def test_bad_setting_stops_the_process_with_one_line(name: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from crmkit.settings import load_settings; load_settings()"],
        env={"PATH": "/usr/bin:/bin", name: value},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"invalid setting {name}:")
