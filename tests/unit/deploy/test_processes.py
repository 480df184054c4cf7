"""Every process (gateway, web, each service) has everything a production process needs:
Deployment running its module on its port, Service, probes, resources, autoscaler, disruption
budget, spread over nodes, hardened pods, no service-account token."""

from __future__ import annotations

import pytest

from .manifests import (
    OVERLAYS,
    PROCESSES,
    default_port,
    module,
    of_kind,
    package_present,
    render,
)

CASES = [(overlay, process) for overlay in OVERLAYS for process in PROCESSES]


def test_the_processes_are_exactly_the_systems() -> None:
    for overlay in OVERLAYS:
        crm = {
            name for name, d in of_kind(render(overlay), "Deployment").items()
            if d["metadata"]["labels"].get("app.kubernetes.io/part-of") == "crm"
        }
        assert crm == {f"crm-{p}" for p in PROCESSES}, overlay


@pytest.mark.parametrize(("overlay", "process"), CASES)
def test_a_process_has_all_it_needs(overlay: str, process: str) -> None:
    docs = render(overlay)
    name = f"crm-{process}"
    deployment = of_kind(docs, "Deployment")[name]
    labels = deployment["spec"]["selector"]["matchLabels"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    # It runs this process's module (present in this checkout) on its configured port.
    assert container["command"] == ["python", "-m", module(process)]
    assert package_present(process)
    port = default_port(process)
    assert container["ports"] == [{"name": "http", "containerPort": port}]

    service = of_kind(docs, "Service")[name]
    assert service["spec"]["selector"] == labels
    assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]

    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for each in [container, *pod.get("initContainers", [])]:
        resources = each["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), each["name"]
        assert "memory" in resources["limits"], each["name"]

    hpa = of_kind(docs, "HorizontalPodAutoscaler")[name]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": name
    }
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    if overlay == "prod":
        assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "replicas" not in deployment["spec"]  # the autoscaler owns the count

    pdb = of_kind(docs, "PodDisruptionBudget")[name]
    assert pdb["spec"]["selector"]["matchLabels"] == labels
    assert pdb["spec"].get("maxUnavailable") == 1

    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["kubernetes.io/hostname"]["labelSelector"]["matchLabels"] == labels

    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    for each in [container, *pod.get("initContainers", [])]:
        context = each["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}

    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize(("overlay", "process"), CASES)
def test_a_service_migrates_its_own_database_before_it_starts(
    overlay: str, process: str
) -> None:
    pod = of_kind(render(overlay), "Deployment")[f"crm-{process}"]["spec"]["template"]["spec"]
    inits = pod.get("initContainers", [])
    if process in ("gateway", "web"):
        assert inits == []  # they own no database
        return
    (migrate,) = inits
    assert migrate["command"] == ["crm", "migrate", "--service", process]
    assert migrate["envFrom"] == pod["containers"][0]["envFrom"][: len(migrate["envFrom"])]
