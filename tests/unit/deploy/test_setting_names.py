"""Every setting the manifests and the operations guide give a process is one the code reads:
a misspelt name would be ignored silently (settings ignore unknown variables)."""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterator

import pytest
from pydantic_settings import BaseSettings

from .manifests import OVERLAYS, PROCESSES, ROOT, module, of_kind, render

# Names agreed with another area and not read by the code yet (none now: the documents
# service reads its storage settings). Once the code reads one, it leaves this set: the test
# below fails until it does, so the list never hides a name that is really unknown.
AWAITED: set[str] = set()


def settings_classes() -> Iterator[type[BaseSettings]]:
    from crmkit.settings import Settings

    yield Settings
    for process in PROCESSES:
        name = f"{module(process)}.settings"
        if importlib.util.find_spec(module(process)) is None:
            continue
        if importlib.util.find_spec(name) is None:
            continue
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, BaseSettings):
                yield value


def known_names() -> set[str]:
    names: set[str] = set()
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        names |= {f"{prefix}{field}".upper() for field in cls.model_fields}
    return names


def absent_prefixes() -> tuple[str, ...]:
    """Settings of a process not in this checkout yet (the web app lands on its own)."""
    return tuple(
        f"CRM_{p.upper()}_" for p in PROCESSES if importlib.util.find_spec(module(p)) is None
    )


def documented_secret_names() -> set[str]:
    text = (ROOT / "docs" / "operations.md").read_text()
    return set(re.findall(r"--from-literal=(CRM_[A-Z0-9_]+)=", text))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configured_names_are_read_by_the_code(overlay: str) -> None:
    docs = render(overlay)
    names = set(of_kind(docs, "ConfigMap")["crm-config"]["data"])
    for secret in of_kind(docs, "Secret").values():
        names |= set(secret.get("data", {}))
    names |= documented_secret_names()
    unknown = {
        n for n in names - known_names() - AWAITED if not n.startswith(absent_prefixes())
    }
    assert unknown == set()


def test_the_operations_guide_names_the_secrets() -> None:
    assert {"CRM_DATABASE_URL", "CRM_WEB_SESSION_SECRET"} <= documented_secret_names()


def test_awaited_names_are_not_read_yet() -> None:
    assert AWAITED & known_names() == set()
