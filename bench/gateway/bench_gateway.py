"""Gateway benchmark (not a test).

Starts the two benchmark subgraphs (one Node process, graphql-js: `subgraphs.mjs`; or, with
`--python-subgraphs`, one uvicorn process: `subgraphs.py`) and the gateway
(`python -m gateway`, its own process), then measures:

1. p50 latency the gateway adds over calling the subgraph directly, single-subgraph query
   (target <= 2 ms), direct and via-gateway requests interleaved one by one;
2. a cross-subgraph query over 50 entities: exactly one request per subgraph per plan step,
   and its latency;
3. with `--hive`, throughput of our gateway and The Guild's Hive Gateway, with its default
   runtime and with its Rust query-planner runtime (`@graphql-hive/router-runtime`), on the
   same supergraph and subgraphs, driven by autocannon. Hive Gateway needs Node 22.15 or
   later, which npm's `node` package brings; all of it is installed under bench/gateway/.node,
   which git ignores:
   `cd bench/gateway/.node && npm install node@22 @graphql-hive/gateway
   @graphql-hive/router-runtime autocannon graphql @apollo/subgraph`.

Throughput conditions: both gateways run at once, each as ONE process (ours: one uvicorn
worker; Hive: `--fork 1`, which serves from its main process without a cluster), so each
measurement sees the same machine. Each round measures both gateways on both queries,
alternating which goes first (A/B, then B/A), each measurement preceded by a warm-up run of
the same query on the same gateway; the report gives every round and the medians, the ratio
ours/Hive, each gateway's CPU per request (its whole process group) and the subgraph requests
per gateway request (so neither gateway is credited for doing less upstream work), and the
load average before and after. Ours verifies the bearer token (cached verified tokens) and
forwards it; Hive is run without authentication, so it does less work per request.

Run: .venv/bin/python bench/gateway/bench_gateway.py [--requests 2000] [--hive] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from crmkit.auth import mint_dev_token
from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET
from gateway.compose import compose_from_urls
from gateway.engine import Gateway
from gateway.supergraph import load_supergraph
from gateway.transport import SubgraphClient

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NODE_BIN = HERE / ".node" / "node_modules" / ".bin"

SINGLE = "{ products(first: 5) { id name price } }"
CROSS = "{ products(first: 50) { id name quantity warehouse } }"


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield child
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def wait_until(url: str, *, method: str = "GET", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if method == "GET" and client.get(url).status_code < 500:
                    return
                if method == "POST":
                    response = client.post(url, json={"query": "{ __typename }"})
                    if response.status_code < 500:
                        return
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


async def latencies(
    client: httpx.AsyncClient, url: str, query: str, count: int, headers: dict[str, str]
) -> list[float]:
    body = json.dumps({"query": query}).encode()
    request_headers = {"content-type": "application/json", **headers}
    for _ in range(min(200, count)):
        (await client.post(url, content=body, headers=request_headers)).raise_for_status()
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.post(url, content=body, headers=request_headers)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
    return timings


async def paired_latencies(
    client: httpx.AsyncClient,
    direct_url: str,
    via_url: str,
    query: str,
    count: int,
    headers: dict[str, str],
) -> tuple[list[float], list[float]]:
    """Direct and via-gateway requests interleaved (the order swapped each pair), so load
    from other processes falls on both alike; the added latency is the difference."""
    body = json.dumps({"query": query}).encode()
    request_headers = {"content-type": "application/json", **headers}
    timings: dict[str, list[float]] = {direct_url: [], via_url: []}
    for _ in range(min(200, count)):
        for url in timings:
            (await client.post(url, content=body, headers=request_headers)).raise_for_status()
    for index in range(count):
        for url in (direct_url, via_url) if index % 2 == 0 else (via_url, direct_url):
            started = time.perf_counter()
            response = await client.post(url, content=body, headers=request_headers)
            timings[url].append(time.perf_counter() - started)
            response.raise_for_status()
    return timings[direct_url], timings[via_url]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), immune to other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(group: int) -> float:
    """CPU time of every live process in a process group (a gateway and any children)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def group_size(group: int) -> int:
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == group:
                count += 1
    return count


class ReplayClient(SubgraphClient):
    """Answers each subgraph request from a recording of the real answer, to time the engine
    alone (plan cache hit, representation building, merge, shaping) without HTTP."""

    def __init__(self, urls: dict[str, str]) -> None:
        super().__init__(urls)
        self.recorded: dict[str, dict[str, Any]] = {}

    async def post(
        self,
        graph: str,
        operation: str,
        variables: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None = None,
        *,
        shareable: bool = False,
    ) -> dict[str, Any]:
        key = graph + operation + json.dumps(variables, sort_keys=True)
        answer = self.recorded.get(key)
        if answer is None:
            answer = await super().post(graph, operation, variables, headers)
            self.recorded[key] = answer
        fresh: dict[str, Any] = json.loads(json.dumps(answer))  # as a new decode would be
        return fresh


async def engine_microseconds(supergraph_sdl: str, urls: dict[str, str], query: str) -> float:
    client = ReplayClient(urls)
    gateway = Gateway(load_supergraph(supergraph_sdl), client)
    try:
        for _ in range(200):
            await gateway.execute(query)
        count = 2000
        started = time.perf_counter()
        for _ in range(count):
            await gateway.execute(query)
        return round((time.perf_counter() - started) / count * 1e6, 1)
    finally:
        await client.aclose()


def summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 3),
    }


CONNECTIONS = 32


def autocannon(url: str, query: str, headers: dict[str, str], seconds: int) -> dict[str, Any]:
    args = [
        str(NODE_BIN / "autocannon"),
        "-j",
        "-c",
        str(CONNECTIONS),
        "-d",
        str(seconds),
        "-m",
        "POST",
        "-H",
        "content-type=application/json",
        "-b",
        json.dumps({"query": query}),
    ]
    for name, value in headers.items():
        args += ["-H", f"{name}={value}"]
    output = subprocess.run(
        [*args, url], capture_output=True, check=True, timeout=seconds + 60
    ).stdout
    result = json.loads(output)
    return {
        "requests": result["requests"]["total"],
        "requests_per_second": result["requests"]["average"],
        "latency_p50_ms": result["latency"]["p50"],
        "latency_p99_ms": result["latency"]["p99"],
        "non_2xx": result["non2xx"],
        "errors": result["errors"],
    }


async def subgraph_requests(client: httpx.AsyncClient, urls: dict[str, str]) -> int:
    """Requests the subgraphs received since the last call (reading the counters resets them)."""
    total = 0
    for url in urls.values():
        total += (await client.get(url.replace("/graphql", "/stats"))).json()["requests"]
    return total


async def measure_throughput(
    targets: dict[str, tuple[str, int]],
    urls: dict[str, str],
    auth: dict[str, str],
    rounds: int,
    seconds: int,
    warmup: int,
) -> dict[str, Any]:
    """Alternating rounds over both gateways and both queries; every run and the medians."""
    queries = {"single": SINGLE, "cross_50": CROSS}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        q: {name: [] for name in targets} for q in queries
    }
    order = list(targets)
    async with httpx.AsyncClient(timeout=10) as stats_client:
        for round_index in range(rounds):
            for query_name, query in queries.items():
                for name in order if round_index % 2 == 0 else order[::-1]:
                    url, group = targets[name]
                    await asyncio.to_thread(autocannon, url, query, auth, warmup)
                    await subgraph_requests(stats_client, urls)
                    cpu_before = group_cpu_seconds(group)
                    result = await asyncio.to_thread(autocannon, url, query, auth, seconds)
                    cpu_used = group_cpu_seconds(group) - cpu_before
                    upstream = await subgraph_requests(stats_client, urls)
                    answered = max(result["requests"], 1)
                    result["gateway_cpu_ms_per_request"] = round(cpu_used / answered * 1000, 3)
                    result["subgraph_requests_per_request"] = round(upstream / answered, 3)
                    result["load_average_1m"] = round(os.getloadavg()[0], 2)
                    runs[query_name][name].append(result)
    report: dict[str, Any] = {"runs": runs, "median": {}}
    for query_name, by_gateway in runs.items():
        medians = {
            name: {
                key: statistics.median(r[key] for r in results)
                for key in (
                    "requests_per_second",
                    "latency_p50_ms",
                    "gateway_cpu_ms_per_request",
                    "subgraph_requests_per_request",
                )
            }
            for name, results in by_gateway.items()
        }
        for other in [n for n in by_gateway if n != "ours"]:
            ratios = [
                o["requests_per_second"] / h["requests_per_second"]
                for o, h in zip(by_gateway["ours"], by_gateway[other], strict=True)
            ]
            medians[f"ratio_ours_over_{other}"] = {
                "per_round": [round(r, 2) for r in ratios],
                "median": round(statistics.median(ratios), 2),
            }
        report["median"][query_name] = medians
    return report


async def run(
    requests: int, hive: bool, seconds: int, rounds: int, warmup: int, python_subgraphs: bool
) -> dict[str, Any]:
    catalog_port, stock_port, gateway_port = free_port(), free_port(), free_port()
    urls = {
        "catalog": f"http://127.0.0.1:{catalog_port}/graphql",
        "stock": f"http://127.0.0.1:{stock_port}/graphql",
    }
    token = mint_dev_token(
        secret=DEV_JWT_SECRET, member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=["rep"]
    )
    auth = {"authorization": f"Bearer {token}"}
    results: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": (
            f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
        ),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    work = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    if python_subgraphs:
        subgraphs = [sys.executable, str(HERE / "subgraphs.py")]
        subgraph_env: dict[str, str] = {}
    else:
        subgraphs = [str(NODE_BIN / "node"), str(HERE / "subgraphs.mjs")]
        subgraph_env = {"NODE_PATH": str(HERE / ".node" / "node_modules")}
    results["subgraphs"] = "python (graphql-core)" if python_subgraphs else "node (graphql-js)"
    with contextlib.ExitStack() as stack:
        stack.enter_context(process([*subgraphs, str(catalog_port), str(stock_port)], subgraph_env))
        for url in urls.values():
            wait_until(url, method="POST")
        supergraph = work / "supergraph.graphql"
        supergraph_sdl = await compose_from_urls(urls)
        supergraph.write_text(supergraph_sdl)
        results["engine_only_us_per_request"] = {
            "single_subgraph": await engine_microseconds(supergraph_sdl, urls, SINGLE),
            "cross_subgraph_50_entities": await engine_microseconds(supergraph_sdl, urls, CROSS),
        }
        gateway_env = {
            "CRM_ENVIRONMENT": "test",
            "CRM_GATEWAY_PORT": str(gateway_port),
            "CRM_GATEWAY_SUPERGRAPH_PATH": str(supergraph),
            "CRM_GATEWAY_COMPOSE_AT_STARTUP": "false",
            "CRM_LOG_LEVEL": "WARNING",
        }
        gateway_url = f"http://127.0.0.1:{gateway_port}/graphql"
        gateway_process = stack.enter_context(
            process([sys.executable, "-m", "gateway"], gateway_env)
        )
        wait_until(f"http://127.0.0.1:{gateway_port}/readyz")
        limits = httpx.Limits(max_keepalive_connections=4)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            cpu_before = cpu_seconds(gateway_process.pid)
            direct, via = await paired_latencies(
                client, urls["catalog"], gateway_url, SINGLE, requests, auth
            )
            cpu_used = cpu_seconds(gateway_process.pid) - cpu_before
            warmed = requests + min(200, requests)
            results["single_subgraph"] = {
                "direct": summary(direct),
                "via_gateway": summary(via),
                "gateway_cpu_ms_per_request": round(cpu_used / warmed * 1000, 3),
                "added_p50_ms": round(
                    (statistics.median(via) - statistics.median(direct)) * 1000, 3
                ),
            }
            await subgraph_requests(client, urls)
            response = await client.post(gateway_url, json={"query": CROSS}, headers=auth)
            body = response.json()
            counts = {
                name: (await client.get(url.replace("/graphql", "/stats"))).json()["requests"]
                for name, url in urls.items()
            }
            products = body["data"]["products"]
            assert len(products) == 50 and all("quantity" in p for p in products), body
            assert counts == {"catalog": 1, "stock": 1}, counts
            cross_count = max(requests // 4, 100)
            cpu_before = cpu_seconds(gateway_process.pid)
            cross = await latencies(client, gateway_url, CROSS, cross_count, auth)
            cpu_used = cpu_seconds(gateway_process.pid) - cpu_before
            results["cross_subgraph_50_entities"] = {
                "requests_per_subgraph": counts,
                "via_gateway": summary(cross),
                "gateway_cpu_ms_per_request": round(
                    cpu_used / (cross_count + min(200, cross_count)) * 1000, 3
                ),
            }
        if hive:
            results["throughput"] = {
                "conditions": {
                    "connections": CONNECTIONS,
                    "seconds_per_run": seconds,
                    "warmup_seconds_per_run": warmup,
                    "rounds": rounds,
                }
            }
            for sharing in (True, False):
                targets = await start_gateways(stack, work, supergraph, gateway_env, sharing, auth)
                mode = "in_flight_sharing_on" if sharing else "in_flight_sharing_off"
                results["throughput"][mode] = {
                    "processes": {name: group_size(group) for name, (_, group) in targets.items()},
                    **await measure_throughput(targets, urls, auth, rounds, seconds, warmup),
                }
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


# Hive Gateway with its default in-flight deduplication of subgraph requests turned off.
HIVE_UNSHARED_CONFIG = """export const gatewayConfig = {
  transportEntries: { "*": { options: { deduplicateInflightRequests: false } } },
};
"""


async def start_gateways(
    stack: contextlib.ExitStack,
    work: Path,
    supergraph: Path,
    gateway_env: dict[str, str],
    sharing: bool,
    auth: dict[str, str],
) -> dict[str, tuple[str, int]]:
    """Our gateway and Hive Gateway with its default runtime and with its Rust query-planner
    runtime (`HIVE_ROUTER_RUNTIME`), all sharing identical in-flight subgraph requests (the
    default of each) or none; they answer the cross-subgraph query identically."""
    ours_port = free_port()
    ours = stack.enter_context(
        process(
            [sys.executable, "-m", "gateway"],
            {
                **gateway_env,
                "CRM_GATEWAY_PORT": str(ours_port),
                "CRM_GATEWAY_DEDUPLICATE_QUERIES": str(sharing).lower(),
            },
        )
    )
    targets = {"ours": (f"http://127.0.0.1:{ours_port}/graphql", ours.pid)}
    wait_until(f"http://127.0.0.1:{ours_port}/readyz")
    for name, router_runtime in (("hive", False), ("hive_router", True)):
        hive_dir = work / f"{name}-{'sharing' if sharing else 'no-sharing'}"
        hive_dir.mkdir()
        if not sharing:
            (hive_dir / "gateway.config.mjs").write_text(HIVE_UNSHARED_CONFIG)
        port = free_port()
        hive_args = [
            str(NODE_BIN / "hive-gateway"),
            "supergraph",
            str(supergraph),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--fork",
            "1",
        ]
        env = {
            "NODE_ENV": "production",
            # Hive Gateway needs Node 22.15 or later: npm's `node` package under .node.
            "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HIVE_ROUTER_RUNTIME": "true" if router_runtime else "",
        }
        hive = stack.enter_context(process(hive_args, env, cwd=hive_dir))
        url = f"http://127.0.0.1:{port}/graphql"
        wait_until(url, method="POST", timeout=60)
        targets[name] = (url, hive.pid)
    async with httpx.AsyncClient(timeout=10) as client:
        answers = [
            (await client.post(url, json={"query": CROSS}, headers=auth)).json()
            for url, _ in targets.values()
        ]
    assert all(a == answers[0] for a in answers), "the gateways answer differently"
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--hive", action="store_true", help="compare with Hive Gateway")
    parser.add_argument("--seconds", type=int, default=10, help="throughput run length")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up before each run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating throughput rounds")
    parser.add_argument(
        "--python-subgraphs",
        action="store_true",
        help="serve the subgraphs from Python (graphql-core) instead of Node (graphql-js)",
    )
    options = parser.parse_args()
    results = asyncio.run(
        run(
            options.requests,
            options.hive,
            options.seconds,
            options.rounds,
            options.warmup,
            options.python_subgraphs,
        )
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
