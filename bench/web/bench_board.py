"""The web app's board under load: 500 open deals rendered through the gateway (target: p50
<= 150 ms server time) and a drag-to-move round trip in the browser (target: p95 <= 150 ms).

Starts the whole system on free ports with its own embedded servers, makes an org with 500
open deals spread over the four open stages (entry requirements cleared, so every move is
accepted), then:

- board: GET / as the deals' owner, timed from request to the last byte on loopback, after
  warm-up (the page makes two GraphQL requests: the pipelines and roster, then every column's
  cards in one operation);
- the CPU each process spends on one board (web app, gateway, pipeline, leads), read from the
  processes' own counters over the timed rounds: unlike the wall-clock times it hardly
  depends on what else the machine runs;
- move: Chromium drags a card between the first two columns, timed by the page from the drop
  to the card swapped back in (the POST, moveOpportunity through the gateway, the card's HTML);
- the deal list's first page (50 rows) and the CSV export of all the deals (no targets: what
  they take is recorded).

Run with: flock /tmp/crm-bench.lock .venv/bin/python -m bench.web.bench_board
(the lock serialises benchmarks on one machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from bench.servers import ServiceCpu, machine, today
from bench.web.screenshots import CHROMIUM_ARGS
from bench.web.stack import Running, running_stack
from crmkit.auth import mint_dev_token
from crmkit.settings import DEV_JWT_SECRET
from web.routes import board

DEALS = 500

Q_PIPELINE = "{ pipelines { id stages { id name kind } } }"
M_CLEAR = """mutation($stage: ID!) { updateStage(stageId: $stage, patch: {requirements: []}) {
  __typename } }"""
M_CREATE = """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
  __typename ... on OpportunityPayload { opportunity { id version } } } }"""
M_MOVE = """mutation($id: ID!, $stage: ID!, $v: Int!) {
  moveOpportunity(id: $id, stageId: $stage, expectedVersion: $v) { __typename } }"""


# The processes a board goes through; the other services only idle meanwhile.
BOARD_PROCESSES = ("web", "gateway", "pipeline", "leads")


class Cpu:
    """CPU milliseconds per request of each process of the board's path, over the timed
    requests only (the warm-up's first render also compiles the templates)."""

    def __init__(self, running: Running) -> None:
        self._processes = {c.name: ServiceCpu(c.process.pid) for c in running.stack.children
                           if c.name in BOARD_PROCESSES}
        self._start: dict[str, float] = {}
        self.per_request: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu.seconds() for name, cpu in self._processes.items()}

    def stop(self, requests: int) -> None:
        self.per_request = {name: (cpu.seconds() - self._start[name]) * 1000 / requests
                            for name, cpu in self._processes.items()}

    def __str__(self) -> str:
        total = sum(self.per_request.values())
        parts = ", ".join(f"{name} {self.per_request[name]:.1f}" for name in BOARD_PROCESSES
                          if name in self.per_request and self.per_request[name] >= 0.05)
        return f"{total:.0f} ms ({parts})"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Member:
    def __init__(self, org: uuid.UUID, role: str, name: str) -> None:
        self.org, self.id, self.role, self.name = org, uuid.uuid4(), role, name
        self.token = mint_dev_token(secret=DEV_JWT_SECRET, member_id=self.id, org_id=org,
                                    roles=[role], team="north", groups=["sales"], name=name)


async def make_org(running: Running) -> tuple[Member, list[str]]:
    """An org whose rep owns DEALS open deals spread over the open stages."""
    org = uuid.uuid4()
    admin, rep = Member(org, "admin", "Ada Admin"), Member(org, "rep", "Rita Rep")
    async with httpx.AsyncClient(timeout=60) as http:
        async def call(member: Member, query: str, **variables: Any) -> dict[str, Any]:
            response = await http.post(running.gateway, json={"query": query,
                                       "variables": variables},
                                       headers={"Authorization": f"Bearer {member.token}"})
            body = response.json()
            assert "errors" not in body, body
            data: dict[str, Any] = body["data"]
            return data

        await call(rep, "{ me { id } }")
        stages = (await call(admin, Q_PIPELINE))["pipelines"][0]["stages"]
        open_stages = [s["id"] for s in stages if s["kind"] == "OPEN"]
        for stage in open_stages:
            await call(admin, M_CLEAR, stage=stage)
        gate = asyncio.Semaphore(8)

        async def deal(i: int) -> None:
            async with gate:
                created = (await call(rep, M_CREATE, input={
                    "name": f"Deal {i:03d}", "amount": str(1000 + i),
                    "currency": "PLN" if i % 5 else "EUR"}))["createOpportunity"]
                target = open_stages[i % len(open_stages)]
                if target != open_stages[0]:
                    opportunity = created["opportunity"]
                    await call(rep, M_MOVE, id=opportunity["id"], stage=target,
                               v=opportunity["version"])

        await asyncio.gather(*(deal(i) for i in range(DEALS)))
    return rep, open_stages


def signed_in_cookies(base: str, member: Member) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/sign-in").text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf is not None
        client.post("/sign-in/dev", data={
            "csrf_token": csrf.group(1), "org": str(member.org), "member": str(member.id),
            "name": member.name, "role": member.role, "team": "north", "groups": "sales"})
        return dict(client.cookies)


def bench_queries(running: Running, rep: Member, stages: list[str], rounds: int,
                  cpu: Cpu) -> list[float]:
    """The board's two GraphQL requests alone, straight to the gateway (the page's share)."""
    variables = {f"f{i}": {"stageIds": [stage], "statuses": ["OPEN"]}
                 for i, stage in enumerate(stages)}
    document = board.columns_query(len(stages))
    timings = []
    headers = {"Authorization": f"Bearer {rep.token}"}
    with httpx.Client(timeout=30, headers=headers) as client:
        for i in range(rounds + 5):
            if i == 5:
                cpu.start()
            started = time.perf_counter()
            client.post(running.gateway, json={"query": board.Q_CHROME})
            client.post(running.gateway, json={"query": document, "variables": variables})
            if i >= 5:
                timings.append((time.perf_counter() - started) * 1000)
    cpu.stop(rounds)
    return timings


def bench_move_requests(base: str, cookies: dict[str, str], stages: list[str],
                        moves: int) -> list[float]:
    """The move's request alone (web app, gateway, pipeline, the card's HTML), no browser."""
    timings = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
        page = client.get("/").text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        card = re.search(r'id="card-([0-9a-f-]{36})" data-id="[^"]+" data-version="(\d+)"'
                         r' data-stage-id="([0-9a-f-]{36})"', page)
        assert csrf and card
        deal, version = card.group(1), int(card.group(2))
        for i in range(moves + 3):
            # Back and forth between the card's column and the next one.
            here = stages.index(card.group(3))
            target = stages[(here + 1) % len(stages)] if i % 2 == 0 else stages[here]
            started = time.perf_counter()
            response = client.post(f"/deals/{deal}/move", headers={
                "X-CSRF-Token": csrf.group(1), "HX-Request": "true"},
                data={"stage": target, "version": str(version), "kind": "OPEN"})
            elapsed = (time.perf_counter() - started) * 1000
            moved = re.search(r'data-version="(\d+)" data-stage-id="([0-9a-f-]{36})"',
                              response.text)
            assert moved and moved.group(2) == target, response.text[:500]
            version = int(moved.group(1))
            if i >= 3:
                timings.append(elapsed)
    return timings


def bench_board(base: str, cookies: dict[str, str], rounds: int, cpu: Cpu) -> list[float]:
    timings = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
        for i in range(rounds + 5):
            if i == 5:
                cpu.start()
            started = time.perf_counter()
            response = client.get("/")
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200
            if i == 0:
                assert response.text.count('class="card') >= DEALS, "the board lacks deals"
            if i >= 5:  # warm-up
                timings.append(elapsed)
    cpu.stop(rounds)
    return timings


def bench_get(base: str, cookies: dict[str, str], path: str, rounds: int,
              check: str) -> list[float]:
    """GET ``path`` (after warm-up), timed to the last byte; ``check`` must be in the first
    answer."""
    timings = []
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
        for i in range(rounds + 3):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200 and check in response.text, response.text[:300]
            if i >= 3:
                timings.append(elapsed)
    return timings


def bench_moves(base: str, cookies: dict[str, str], moves: int) -> list[float]:
    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookies.items()])
        page = context.new_page()
        page.goto(base + "/")
        columns = page.locator("ol.cards")
        for i in range(moves + 3):
            source, target = (columns.nth(0), columns.nth(1)) if i % 2 == 0 else (
                columns.nth(1), columns.nth(0))
            card = source.locator(".card").first
            card_id = card.get_attribute("id")
            page.evaluate("window.crmLastMoveMs = null")
            card.drag_to(target)
            # Polled from here: wait_for_function evaluates its predicate with eval, which
            # the app's Content Security Policy forbids (the page measures the time itself).
            while (ms := page.evaluate("window.crmLastMoveMs")) is None:
                page.wait_for_timeout(5)
            assert target.locator(f"#{card_id}").count() == 1, "the move did not land"
            assert page.locator(f"#{card_id} .card-problem").count() == 0
            if i >= 3:  # warm-up
                timings.append(float(ms))
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--moves", type=int, default=40)
    args = parser.parse_args()
    with running_stack() as running:
        started = time.monotonic()
        rep, stages = asyncio.run(make_org(running))
        print(f"{DEALS} deals in {time.monotonic() - started:.0f}s")
        cookies = signed_in_cookies(running.web, rep)
        page_cpu, query_cpu = Cpu(running), Cpu(running)
        pages = bench_board(running.web, cookies, args.rounds, page_cpu)
        queries = bench_queries(running, rep, stages, args.rounds, query_cpu)
        requests = bench_move_requests(running.web, cookies, stages, args.moves)
        moves = bench_moves(running.web, cookies, args.moves)
        # The deal list's first page, and all 500 deals as a CSV file (three API pages).
        listed = bench_get(running.web, cookies, "/deals", args.rounds // 2, "Deal 499")
        exported = bench_get(running.web, cookies, "/deals/export.csv", args.rounds // 4,
                             "Deal 000")
    load = os.getloadavg()
    print(f"{today()}, {machine()}, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"board with {DEALS} open deals, {len(pages)} renders: "
          f"p50 {statistics.median(pages):.0f} ms, p95 {percentile(pages, 0.95):.0f} ms, "
          f"max {max(pages):.0f} ms (target p50 <= 150 ms)")
    print(f"  CPU per board: {page_cpu}")
    print(f"  its two GraphQL requests alone: p50 {statistics.median(queries):.0f} ms, "
          f"p95 {percentile(queries, 0.95):.0f} ms; CPU {query_cpu}")
    print(f"drag to move, {len(moves)} moves: p50 {statistics.median(moves):.0f} ms, "
          f"p95 {percentile(moves, 0.95):.0f} ms, max {max(moves):.0f} ms "
          "(target p95 <= 150 ms)")
    print(f"  the move's request alone: p50 {statistics.median(requests):.0f} ms, "
          f"p95 {percentile(requests, 0.95):.0f} ms")
    for what, timings in ((f"deal list (50 of {DEALS})", listed),
                          (f"CSV export of {DEALS} deals", exported)):
        print(f"{what}, {len(timings)} requests: p50 {statistics.median(timings):.0f} ms, "
              f"p95 {percentile(timings, 0.95):.0f} ms")


if __name__ == "__main__":
    main()
