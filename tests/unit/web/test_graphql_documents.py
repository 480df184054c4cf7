"""Every GraphQL operation the web app sends is valid against the gateway's supergraph: a
misspelt field, a typed error that is not in a result union or an argument the API lacks
fails here instead of in front of a user."""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import GraphQLSchema, parse, validate

import web.routes
from gateway.supergraph import load_supergraph_file
from web.routes import board, deal_handover

SUPERGRAPH = Path(__file__).resolve().parents[3] / "gateway" / "supergraph.graphql"


def documents() -> Iterator[tuple[str, str]]:
    for info in pkgutil.iter_modules(web.routes.__path__):
        module = importlib.import_module(f"web.routes.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("_"):  # a template the module completes
                continue
            values = value.items() if isinstance(value, dict) else [(None, value)]
            for key, text in values:
                if isinstance(text, str) and text.lstrip().startswith(("query", "mutation")):
                    yield f"{info.name}.{name}" + (f"[{key}]" if key else ""), text
    yield "board.columns_query(3)", board.columns_query(3)
    yield "deal_handover.hand_over_operation(2)", deal_handover.hand_over_operation(2)


DOCUMENTS = dict(documents())


def test_the_app_sends_many_operations() -> None:
    assert len(DOCUMENTS) > 50


@functools.cache
def api_schema() -> GraphQLSchema:
    return load_supergraph_file(SUPERGRAPH).api_schema


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_operation_is_valid_against_the_supergraph(name: str) -> None:
    schema = api_schema()
    errors = validate(schema, parse(DOCUMENTS[name]))
    assert errors == [], [error.message for error in errors]
