"""A cheaper way through graphql-core for plain leaf fields.

For every field graphql-core builds a resolve-info object, calls the resolver and runs the
generic value completion. A page of 50 opportunities has some 600 fields that are plain
attributes (no resolver, no arguments) of a scalar or enum type, and that machinery was
most of the page's CPU. Such a field is read and coerced here directly, exactly as the
completion of a non-null leaf does it; anything else (resolvers, arguments, objects,
lists, nulls, coercion errors, field middleware) goes through graphql-core unchanged.

The plain leaves of a selection that repeats (a list's nodes) are read together
(:meth:`execute_fields`), without the path and field lookup graphql-core makes for each: a
board's 500 opportunities have some 6 000.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLObjectType,
    Undefined,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


def _plain_leaf(field: GraphQLField) -> GraphQLLeafType | None:
    """The leaf type of a field strawberry resolves by attribute access, else None."""
    resolve = field.resolve
    if resolve is None or not getattr(resolve, "_is_default", False) or field.args:
        return None
    named = get_nullable_type(field.type)
    return named if is_leaf_type(named) else None


def _attribute(field: GraphQLField) -> str | None:
    """The Python attribute strawberry reads for a plain field."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if getattr(definition, "default_resolver", None) is not getattr:
        return None
    name = getattr(definition, "python_name", None)
    return name if isinstance(name, str) else None


# An object's fields split for one selection: its plain leaves (response name, attribute,
# leaf type, nullable) and the rest, executed by graphql-core; the response names in order.
_Split = tuple[
    list[tuple[str, str, GraphQLLeafType, bool]], GroupedFieldSet, list[str]
]


# A selection seen once so far in this request, not split yet.
_ONCE: _Split = ([], {}, [])


class PlainLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    # GraphQLField -> its leaf type or None; the schema's fields live as long as the process.
    _leaves: dict[int, tuple[GraphQLField, GraphQLLeafType | None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request: graphql-core collects a selection's fields once per request (one
        # dict for all 500 nodes of a list); the dict is kept so that its id is not reused.
        self._splits: dict[int, tuple[GroupedFieldSet, _Split | None]] = {}

    def _split(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> _Split | None:
        known = self._splits.get(id(fields))
        if known is None or known[0] is not fields:
            # Split only a selection that comes again (a list's nodes): for one object, a
            # mutation's payload say, the split costs more than it saves, and graphql-core's
            # way with the per-field path below gives the same answer.
            self._splits[id(fields)] = (fields, _ONCE)
            return None
        if known[1] is not _ONCE:
            return known[1]
        plain: list[tuple[str, str, GraphQLLeafType, bool]] = []
        rest: GroupedFieldSet = {}
        for response_name, details in fields.items():
            field = None
            if len(details) == 1 and not details[0].node.arguments:
                field = self.schema.get_field(parent_type, details[0].node.name.value)
            leaf = _plain_leaf(field) if field is not None else None
            attribute = _attribute(field) if field is not None and leaf is not None else None
            if field is not None and leaf is not None and attribute is not None:
                nullable = not is_non_null_type(field.type)
                plain.append((response_name, attribute, leaf, nullable))
            else:
                rest[response_name] = details
        split = (plain, rest, list(fields)) if plain else None
        self._splits[id(fields)] = (fields, split)
        return split

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager
        split = None
        if manager is None or not manager.middlewares:
            split = self._split(parent_type, grouped_field_set)
        if split is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plain, rest, order = split
        values: dict[str, Any] = {}
        for response_name, attribute, leaf, nullable in plain:
            value = getattr(source_value, attribute, None)
            if value is None and nullable:
                values[response_name] = None
                continue
            try:
                coerced = leaf.coerce_output_value(value) if value is not None else None
            except Exception:  # graphql-core reports it, below
                coerced = None
            if coerced is None or coerced is Undefined:
                # A null where none may be, or a value that does not coerce: graphql-core's
                # way, with its errors.
                return super().execute_fields(
                    parent_type, source_value, path, grouped_field_set, position_context
                )
            values[response_name] = coerced
        if not rest:
            return values
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if isinstance(others, dict):
            return _merged(values, others, order)
        return self._merged_later(values, others, order)

    async def _merged_later(
        self, values: dict[str, Any], others: Awaitable[dict[str, Any]], order: list[str]
    ) -> dict[str, Any]:
        return _merged(values, await others, order)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        manager = self.middleware_manager  # strawberry passes one, usually empty
        if (manager is None or not manager.middlewares) and len(field_details_list) == 1:
            node = field_details_list[0].node
            field = self.schema.get_field(parent_type, node.name.value)
            if field is not None and not node.arguments:
                known = self._leaves.get(id(field))
                if known is None or known[0] is not field:
                    known = self._leaves[id(field)] = (field, _plain_leaf(field))
                leaf = known[1]
                if leaf is not None:
                    value = field.resolve(source, None)  # type: ignore[misc]
                    if value is not None:
                        try:
                            coerced = leaf.coerce_output_value(value)
                        except Exception:  # graphql-core reports it below
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            return coerced
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


def _merged(values: dict[str, Any], others: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """Both parts in the order the fields were asked for."""
    values.update(others)
    return {name: values[name] for name in order if name in values}
