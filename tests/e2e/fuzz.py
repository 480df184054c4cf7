"""Generated GraphQL operations against the gateway and every service (schemathesis in GraphQL
mode: every query and mutation of each schema, with arguments made from their types), sent
with a valid token; every answer must be JSON, never a 5xx, never an internal text.

``CRM_FUZZ_EXAMPLES`` examples per operation (a short run in ``make test``, more in
``make fuzz``); the examples are derived from a fixed seed, so a run is reproducible."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import graphql
import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes

# What must never reach a client: the masked bug, tracebacks, database or driver texts.
INTERNAL_TEXT = re.compile(
    r"internal error|Traceback|sqlalchemy|asyncpg|psycopg|\[SQL:|\bSELECT\b.*\bFROM\b"
    r"|\bINSERT INTO\b|KeyError|TypeError|AttributeError|RecursionError",
    re.IGNORECASE,
)


ENTITY_TYPES = ("Opportunity", "Lead", "Account", "Member", "Activity", "Pipeline", "Offer",
                "Document", "Folder", "Contact", "Nonexistent")


def _text_or(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly well-formed values, some arbitrary text (control characters included)."""
    return st.one_of(valid, valid, st.text(max_size=40))


def _representation(fields: tuple[str, str]) -> graphql.ObjectValueNode:
    return nodes.Object([
        graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=nodes.String(value))
        for name, value in zip(("__typename", "id"), fields, strict=True)
    ])


def register_scalars() -> None:
    """Values of the CRM's own scalars: valid ones and the edges a careless client sends."""
    decimals = st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2,
                    min_value=-10**12, max_value=10**12).map(str),
        st.sampled_from(["10.005", "1e400", "-0", "NaN", "Infinity", "1" * 40, "0.1"]),
    )
    schemathesis.graphql.scalar("Decimal", _text_or(decimals).map(nodes.String))
    dates = st.one_of(st.dates().map(lambda d: d.isoformat()),
                      st.sampled_from(["9718-01-01", "0001-01-01", "2026-02-30"]))
    schemathesis.graphql.scalar("Date", _text_or(dates).map(nodes.String))
    moments = st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.sampled_from(["9718-01-01T00:00:00+00:00", "2026-01-01T00:00:00"]),
    )
    schemathesis.graphql.scalar("DateTime", _text_or(moments).map(nodes.String))
    ids = st.one_of(st.uuids().map(str), st.text(max_size=12))
    schemathesis.graphql.scalar(
        "_Any", st.tuples(st.sampled_from(ENTITY_TYPES), ids).map(_representation))


def examples_per_operation() -> int:
    return int(os.environ.get("CRM_FUZZ_EXAMPLES", "2"))


@dataclass
class FuzzReport:
    target: str
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        server_errors = sum(n for s, n in self.statuses.items() if s >= 500)
        return (f"{self.target}: {self.requests} requests, {server_errors} 5xx, "
                f"statuses {dict(sorted(self.statuses.items()))}, "
                f"{len(self.problems)} problems")


def fuzz(target: str, url: str, token: str, examples: int | None = None) -> FuzzReport:
    """Every operation of the schema at ``url`` (read by introspection), ``examples`` times."""
    register_scalars()
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.graphql.from_url(url, headers=headers, timeout=30)
    report = FuzzReport(target)
    session = requests.Session()
    count = examples or examples_per_operation()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            report.problems.append(f"an operation cannot be generated: {result.err()}")
            continue
        _fuzz_operation(result.ok(), url, session, headers, count, report)
    return report


def _fuzz_operation(operation: Any, url: str, session: requests.Session,
                    headers: dict[str, str], count: int, report: FuzzReport) -> None:
    @hypothesis_settings(
        max_examples=count,
        derandomize=True,  # the fixed seed: the same examples every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(base_url=url, session=session, headers=headers, timeout=60)
        report.requests += 1
        report.statuses[response.status_code] += 1
        content_type = response.headers.get("content-type") or [""]
        body = case.body  # the query's text in GraphQL mode
        query = str(body.get("query", "") if isinstance(body, dict) else body)
        problem = judge(response.status_code, content_type[0], response.text,
                        sent=STRING_LITERAL.findall(query))
        if problem is not None:
            report.problems.append(f"{operation.label}: {problem}; query: {query[:300]}")

    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        run()


# The query's own strings, which an answer may quote back ("sqlalchemy.url" is no DateTime).
STRING_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def judge(status: int, content_type: str, text: str, sent: list[str] | None = None) -> str | None:
    """Why an answer is not acceptable, or None. ``sent``: strings of the request, which an
    answer may quote back without that being a text of ours."""
    if status >= 500:
        return f"HTTP {status}: {text[:300]}"
    if not content_type.startswith("application/json"):
        return f"HTTP {status} answered {content_type or 'no content type'}: {text[:200]}"
    try:
        json.loads(text)
    except ValueError:
        return f"HTTP {status} answered invalid JSON: {text[:200]}"
    for quoted in sorted(sent or (), key=len, reverse=True):
        if len(quoted) > 2:
            text = text.replace(quoted, "")
    found = INTERNAL_TEXT.search(text)
    if found is not None:
        start = max(found.start() - 150, 0)
        return f"internal text {found.group(0)!r}: {text[start:found.end() + 150]}"
    return None
