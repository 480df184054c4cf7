"""The NetworkPolicies allow exactly the system's paths: ingress controller -> web, gateway and
the /files/ and /feeds/ routes; web -> gateway -> services; services -> PostgreSQL and NATS;
notifications -> SMTP and webhooks outside the cluster; and what every pod needs (DNS,
Prometheus scraping). Computed from the rendered policies as Kubernetes evaluates them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from .manifests import OVERLAYS, PROCESSES, default_port, render

NAMESPACE = "crm"
# The future notifications service is checked as it will be labelled, present or not.
SERVICES = [p for p in PROCESSES if p not in ("gateway", "web")] + ["notifications"]
NOTIFICATIONS_PORT = 4006


@dataclass(frozen=True)
class Peer:
    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...] = ()
    ports: tuple[tuple[str, int], ...] = ()  # named container ports
    ip: str | None = None

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def process_peer(process: str) -> Peer:
    component = process if process in ("gateway", "web") else "service"
    port = NOTIFICATIONS_PORT if process == "notifications" else default_port(process)
    return Peer(
        process, NAMESPACE,
        (("app.kubernetes.io/name", f"crm-{process}"), ("app.kubernetes.io/component", component),
         ("app.kubernetes.io/part-of", "crm")),
        (("http", port),),
    )


PROCESS_PEERS = [process_peer(p) for p in ("gateway", "web", *SERVICES)]
DATABASE = Peer("database", NAMESPACE, (("crm.io/endpoint", "database"),))
BUS = Peer("bus", NAMESPACE, (("crm.io/endpoint", "bus"), ("app.kubernetes.io/name", "crm-nats")))
INGRESS = Peer("ingress-controller", "ingress-nginx")
PROMETHEUS = Peer("prometheus", "monitoring")
DNS = Peer("dns", "kube-system", (("k8s-app", "kube-dns"),))
INTERNET = Peer("internet", "", ip="203.0.113.10")
PRIVATE = Peer("private-host", "", ip="10.1.2.3")
PEERS = [*PROCESS_PEERS, DATABASE, BUS, INGRESS, PROMETHEUS, DNS, INTERNET, PRIVATE]
PORTS = sorted({p for peer in PROCESS_PEERS for _, p in peer.ports}
               | {5432, 4222, 6222, 53, 25, 465, 587, 443, 80, 22})


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    wanted = selector.get("matchLabels", {})
    assert not selector.get("matchExpressions"), "extend the checker for matchExpressions"
    return all(labels.get(k) == v for k, v in wanted.items())


def peer_matches(rule_peer: dict[str, Any], peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if peer.ip is None:
            return False
        block = rule_peer["ipBlock"]
        address = ipaddress.ip_address(peer.ip)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if peer.ip is not None:
        return False
    pod_selector = rule_peer.get("podSelector")
    namespace_selector = rule_peer.get("namespaceSelector")
    if namespace_selector is None:
        in_namespace = peer.namespace == NAMESPACE
    else:
        in_namespace = matches(namespace_selector,
                               {"kubernetes.io/metadata.name": peer.namespace})
    return in_namespace and matches(pod_selector, dict(peer.labels))


def port_matches(rule_ports: list[dict[str, Any]] | None, port: int, target: Peer) -> bool:
    if not rule_ports:
        return True
    for rule in rule_ports:
        value = rule.get("port")
        if isinstance(value, str):
            value = dict(target.ports).get(value)
        if rule.get("protocol", "TCP") in ("TCP", "UDP") and (value is None or value == port):
            if value is None and "port" in rule:
                continue  # a named port the target does not have
            return True
    return False


@dataclass
class Policies:
    docs: list[dict[str, Any]] = field(default_factory=list)

    def selecting(self, peer: Peer, kind: str) -> list[dict[str, Any]]:
        if peer.namespace != NAMESPACE:
            return []
        return [
            d for d in self.docs
            if kind in d["spec"].get("policyTypes", ["Ingress"])
            and matches(d["spec"]["podSelector"], dict(peer.labels))
        ]

    def allowed(self, source: Peer, target: Peer, port: int) -> bool:
        egress = self.selecting(source, "Egress")
        if source.namespace == NAMESPACE and egress and not any(
            any(peer_matches(p, target) for p in rule.get("to", [{}]) or [{}])
            and port_matches(rule.get("ports"), port, target)
            for policy in egress for rule in policy["spec"].get("egress", [])
        ):
            return False
        if target.namespace != NAMESPACE:
            return True  # outside the namespace only the source's egress rules apply
        ingress = self.selecting(target, "Ingress")
        return not ingress or any(
            any(peer_matches(p, source) for p in rule.get("from", [{}]) or [{}])
            and port_matches(rule.get("ports"), port, target)
            for policy in ingress for rule in policy["spec"].get("ingress", [])
        )


def allowed_paths(overlay: str) -> set[tuple[str, str, int]]:
    policies = Policies([d for d in render(overlay) if d["kind"] == "NetworkPolicy"])
    return {
        (source.name, target.name, port)
        for source in PEERS for target in PEERS if source != target or source is BUS
        for port in PORTS
        if not (source.namespace != NAMESPACE and target.namespace != NAMESPACE)
        and (source.namespace == NAMESPACE or target.namespace == NAMESPACE)
        and policies.allowed(source, target, port)
    }


def http(peer: Peer) -> int:
    return dict(peer.ports)["http"]


def expected_paths(overlay: str) -> set[tuple[str, str, int]]:
    by_name = {p.name: p for p in PROCESS_PEERS}
    paths = {("ingress-controller", "web", http(by_name["web"])),
             ("ingress-controller", "gateway", http(by_name["gateway"])),
             ("ingress-controller", "documents", http(by_name["documents"])),
             ("ingress-controller", "notifications", http(by_name["notifications"])),
             ("web", "gateway", http(by_name["gateway"]))}
    for service in SERVICES:
        paths.add(("gateway", service, http(by_name[service])))
        paths.add((service, "database", 5432))
        paths.add((service, "bus", 4222))
    for peer in PROCESS_PEERS:
        paths.add(("prometheus", peer.name, http(peer)))
    for peer in [*PROCESS_PEERS, DATABASE, BUS]:
        paths.add((peer.name, "dns", 53))
    paths |= {("notifications", "internet", port) for port in (25, 465, 587, 443)}
    if overlay == "prod":
        paths.add(("bus", "bus", 6222))  # routes between the NATS servers
    return paths


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_policies_allow_exactly_the_systems_paths(overlay: str) -> None:
    allowed = allowed_paths(overlay)
    expected = expected_paths(overlay)
    assert sorted(allowed - expected) == []
    assert sorted(expected - allowed) == []


def test_the_checker_denies_without_policies_only_what_they_deny() -> None:
    assert Policies([]).allowed(by("web"), by("leads"), 4001)
    deny = {"kind": "NetworkPolicy", "spec": {"podSelector": {},
                                              "policyTypes": ["Ingress", "Egress"]}}
    assert not Policies([deny]).allowed(by("web"), by("leads"), 4001)


def by(name: str) -> Peer:
    return next(p for p in PEERS if p.name == name)
