"""The rendered Kubernetes manifests of each overlay, and the processes they must deploy."""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from crmkit.db import SERVICES
from crmkit.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
# Every process of the system: each must have the whole of a process's manifests. A new
# service joins crmkit.db.SERVICES and is checked from then on.
PROCESSES = ("gateway", "web", *SERVICES)
KUBECTL = Path(sys.executable).parent / "kubectl"


@functools.cache
def render(target: str) -> tuple[dict[str, Any], ...]:
    """``kubectl kustomize`` of ``base`` or an overlay name."""
    path = DEPLOY / "base" if target == "base" else DEPLOY / "overlays" / target
    rendered = subprocess.run(
        [str(KUBECTL), "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return tuple(d for d in yaml.safe_load_all(rendered) if d)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def module(process: str) -> str:
    return process if process in ("gateway", "web") else f"services.{process}"


def package_present(process: str) -> bool:
    return importlib.util.find_spec(module(process)) is not None


def default_port(process: str) -> int:
    defaults = Settings.model_construct()
    if process == "gateway":
        return defaults.gateway_port
    if process == "web":
        from web.settings import WebSettings

        port: int = WebSettings.model_fields["port"].default
        return port
    return defaults.service_port(process)


def pod_specs(docs: tuple[dict[str, Any], ...]) -> dict[str, dict[str, Any]]:
    """Every pod template we ship: ``Kind/name`` -> pod spec."""
    return {
        f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")
    }
