"""Each overlay renders with kustomize and validates strictly: Kubernetes' own kinds with
kubernetes-validate, custom resources against the schemas in deploy/schemas."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from .manifests import DEPLOY, OVERLAYS, render

SCHEMAS = DEPLOY / "schemas"
BUILTIN_GROUPS = ("v1", "apps/", "batch/", "policy/", "autoscaling/", "networking.k8s.io/")


@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
def test_builtin_kinds_validate_strictly(overlay: str, tmp_path: Path) -> None:
    builtin = [d for d in render(overlay) if d["apiVersion"].startswith(BUILTIN_GROUPS)]
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(yaml.safe_dump_all(builtin))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--quiet",
         str(rendered)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARN" not in result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_validate_against_the_vendored_schemas(overlay: str) -> None:
    custom = [d for d in render(overlay) if not d["apiVersion"].startswith(BUILTIN_GROUPS)]
    for doc in custom:
        group_version = doc["apiVersion"].replace("/", "_")
        schema_file = SCHEMAS / f"{group_version}_{doc['kind']}.yaml"
        assert schema_file.exists(), f"no schema for {doc['apiVersion']} {doc['kind']}"
        jsonschema.validate(doc, yaml.safe_load(schema_file.read_text()))


def test_prod_has_the_clustered_servers_and_tls() -> None:
    docs = render("prod")
    kinds = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    cluster = kinds[("Cluster", "crm-db")]
    assert cluster["spec"]["instances"] == 3
    pooler = kinds[("Pooler", "crm-db-pooler-rw")]
    assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
    assert pooler["spec"]["cluster"]["name"] == "crm-db"
    assert kinds[("StatefulSet", "crm-nats")]["spec"]["replicas"] == 3
    config = kinds[("ConfigMap", "crm-config")]["data"]
    assert config["CRM_STREAM_REPLICAS"] == "3"
    assert config["CRM_DB_PREPARED_STATEMENTS"] == "false"
    ingress = kinds[("Ingress", "crm")]
    assert ingress["metadata"]["annotations"]["cert-manager.io/issuer"] in {
        name for kind, name in kinds if kind == "Issuer"
    }
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_holds_a_credential(overlay: str) -> None:
    """Secrets in git carry no passwords: prod renders none (the operator creates them), dev
    only a database URL without a password (its PostgreSQL trusts the namespace)."""
    secrets = [d for d in render(overlay) if d["kind"] == "Secret"]
    if overlay == "prod":
        assert secrets == []
    for secret in secrets:
        for key, value in (secret.get("data") or {}).items():
            text = base64.b64decode(value).decode()
            assert key == "CRM_DATABASE_URL"
            assert "@" in text and ":" not in text.split("//", 1)[1].split("@", 1)[0], text


def test_the_public_origin_routes_web_api_and_files() -> None:
    (ingress,) = [d for d in render("prod") if d["kind"] == "Ingress"]
    routes = {
        p["path"]: (p["pathType"], p["backend"]["service"]["name"])
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert routes == {
        "/": ("Prefix", "crm-web"),
        "/graphql": ("Exact", "crm-gateway"),
        "/files/": ("Prefix", "crm-documents"),
        "/feeds/": ("Prefix", "crm-notifications"),
    }
