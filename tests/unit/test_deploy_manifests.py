"""The Kubernetes manifests stay consistent with the code they deploy."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

from crmkit.settings import Settings

BASE = Path(__file__).resolve().parents[2] / "deploy" / "base"


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((BASE / resource).read_text()) if d]
    return docs


def test_every_deployment_runs_an_existing_module_on_its_configured_port() -> None:
    defaults = Settings.model_construct()
    deployments = [d for d in documents() if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {
        "crm-gateway",
        "crm-leads",
        "crm-pipeline",
        "crm-documents",
        "crm-reporting",
    }
    for deployment in deployments:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        module = container["command"][-1]
        assert importlib.util.find_spec(module) is not None, module
        name = deployment["metadata"]["name"].removeprefix("crm-")
        port = container["ports"][0]["containerPort"]
        expected = defaults.gateway_port if name == "gateway" else defaults.service_port(name)
        assert port == expected
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_config_names_only_known_settings() -> None:
    (config,) = [d for d in documents() if d["kind"] == "ConfigMap"]
    known = {f"CRM_{name.upper()}" for name in Settings.model_fields}
    assert set(config["data"]) <= known
