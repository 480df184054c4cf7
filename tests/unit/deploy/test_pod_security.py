"""Every pod we ship meets the Pod Security Standard "restricted" (the namespace enforces it),
checked rule by rule as the standard writes them."""

from __future__ import annotations

from typing import Any

import pytest

from .manifests import OVERLAYS, pod_specs, render

ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What in a pod spec breaks the "restricted" profile (baseline rules included)."""
    found: list[str] = []
    pod_context = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            found.append(flag)
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            found.append(f"volume {volume['name']}: {kinds}")
    if pod_context.get("sysctls"):
        found.append("sysctls")
    containers = [*pod.get("initContainers", []), *pod["containers"]]
    for container in containers:
        name = container["name"]
        context = container.get("securityContext", {})
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if any(p.get("hostPort") for p in container.get("ports", [])):
            found.append(f"{name}: hostPort")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []):
            found.append(f"{name}: capabilities not dropped")
        if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: capabilities added")
        if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
            found.append(f"{name}: runAsNonRoot")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            found.append(f"{name}: runAsUser 0")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile")
        if context.get("procMount", "Default") != "Default":
            found.append(f"{name}: procMount")
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_meets_the_restricted_standard(overlay: str) -> None:
    pods = pod_specs(render(overlay))
    assert pods
    assert {name: restricted_violations(pod) for name, pod in pods.items()} == {
        name: [] for name in pods
    }


def test_the_checker_finds_what_the_standard_forbids() -> None:
    bad = {
        "hostNetwork": True,
        "securityContext": {},
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}],
    }
    assert set(restricted_violations(bad)) == {
        "hostNetwork", "volume h: {'hostPath'}", "c: allowPrivilegeEscalation",
        "c: capabilities not dropped", "c: capabilities added", "c: runAsNonRoot",
        "c: seccompProfile",
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_namespace_enforces_it(overlay: str) -> None:
    (namespace,) = [d for d in render(overlay) if d["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
