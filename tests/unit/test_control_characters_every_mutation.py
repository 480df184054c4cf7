"""Every mutation of every service whose result has a ``ValidationError`` member answers it for
a control character in any of its text inputs (issue 13, item 4), naming each one, and its
resolver does not run: each mutation is called with every String and ID argument, input field
and list item (optional ones too) holding a NUL, on the service's own schema with no database
and no context (a resolver that ran would fail)."""

from __future__ import annotations

import importlib
from typing import Any, cast

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    graphql,
)

from crm.stack import available_services
from crmkit.graphql import answering_mutations
from crmkit.serve import ServiceModule

SAMPLES: dict[str, Any] = {
    "Int": 1, "Float": 1.5, "Boolean": True, "Decimal": "1.00", "Date": "2030-01-01",
    "DateTime": "2030-01-01T10:00:00+00:00",
}
ANSWER = "__typename ... on ValidationError { fields { path message } }"


def fill(type_: GraphQLInputType, path: tuple[str, ...], texts: list[list[str]]) -> Any:
    """A value of ``type_`` with a NUL in every text in it; ``texts`` gets their paths."""
    if isinstance(type_, GraphQLNonNull):
        return fill(type_.of_type, path, texts)
    if isinstance(type_, GraphQLList):
        return [fill(cast(GraphQLInputType, type_.of_type), (*path, "0"), texts)]
    if isinstance(type_, GraphQLInputObjectType):
        fields = list(type_.fields.items())
        if getattr(type_, "is_one_of", False):
            fields = fields[:1]
        return {name: fill(field.type, (*path, name), texts) for name, field in fields}
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if type_.name in ("String", "ID"):
        texts.append(list(path))
        return f"{path[-1]}\x00"
    return SAMPLES[type_.name]


def mutations() -> list[tuple[str, str]]:
    """Each service's answering mutations that take text (a few take only an enum or
    nothing)."""
    return [(service, name) for service in available_services()
            for name in sorted(answering_mutations(_schema(service)._schema))
            if _arguments(service, name)[1]]


def _arguments(service: str, mutation: str) -> tuple[dict[str, Any], list[list[str]]]:
    """The mutation's variables with a NUL in every text, and the paths of those texts."""
    field = _schema(service)._schema.mutation_type.fields[mutation]
    texts: list[list[str]] = []
    variables = {name: fill(argument.type, (name,), texts)
                 for name, argument in field.args.items()}
    return variables, texts


_SCHEMAS: dict[str, Any] = {}


def _schema(service: str) -> Any:
    if service not in _SCHEMAS:
        app = cast(ServiceModule, importlib.import_module(f"services.{service}.app"))
        _SCHEMAS[service] = app.create_schema()
    return _SCHEMAS[service]


def test_every_service_has_mutations_that_answer_it() -> None:
    assert {service for service, _ in mutations()} == set(available_services())


@pytest.mark.parametrize(("service", "mutation"), mutations())
async def test_text_with_a_control_character_anywhere_is_the_mutations_validation_error(
    service: str, mutation: str
) -> None:
    schema = _schema(service)._schema
    field = schema.mutation_type.fields[mutation]
    variables, texts = _arguments(service, mutation)
    declared = ", ".join(f"${name}: {argument.type}" for name, argument in field.args.items())
    passed = ", ".join(f"{name}: ${name}" for name in field.args)
    result = await graphql(
        schema, f"mutation({declared}) {{ {mutation}({passed}) {{ {ANSWER} }} }}",
        variable_values=variables)
    assert result.errors is None, result.errors
    assert result.data is not None
    answer = result.data[mutation]
    assert answer["__typename"] == "ValidationError", answer
    assert [f["path"] for f in answer["fields"]] == texts
    assert {f["message"] for f in answer["fields"]} == {
        "text must not contain control characters"}
