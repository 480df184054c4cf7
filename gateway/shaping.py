"""Shapes merged subgraph data into the client's response, per the GraphQL spec.

Subgraph selections keep the client's response keys, so the merged data is keyed alike. The
shaper walks the client's selection over it: fragments and type conditions by `__typename`,
`__typename` itself, and null propagation (a null in a non-null position nulls the nearest
nullable parent, with one located error). A FieldError left by the executor is raised where the
client sees it. @skip/@include were decided when the plan (and this shaper) was built.

Operations with introspection fields go through graphql-core's executor instead, which
answers `__schema`/`__type` from the API schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution import execute_sync

from gateway.collect import FieldCollector
from gateway.executor import FieldError

Errors = list[dict[str, Any]]


class _Null(Exception):
    """A non-null position is null: the nearest nullable parent becomes null."""


@dataclass(frozen=True)
class _Field:
    key: str
    name: str
    parent: str
    type: GraphQLOutputType
    nodes: tuple[FieldNode, ...]
    child: _Selection | None
    # A scalar or enum, maybe non-null: a present value is copied as is (the hot path).
    leaf: bool = False


class _Selection:
    """The merged selection sets under one response key, compiled per runtime type on demand."""

    __slots__ = ("_shaper", "by_type", "sets")

    def __init__(self, shaper: Shaper, sets: tuple[SelectionSetNode, ...]) -> None:
        self._shaper = shaper
        self.sets = sets
        self.by_type: dict[str, tuple[_Field, ...]] = {}

    def fields_for(
        self, object_type: GraphQLObjectType | GraphQLInterfaceType
    ) -> tuple[_Field, ...]:
        fields = self.by_type.get(object_type.name)
        if fields is None:
            fields = self._shaper.compile(object_type, self.sets)
            self.by_type[object_type.name] = fields
        return fields


class Shaper:
    """Built once per cached plan: the client's operation compiled for fast completion."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        collector: FieldCollector,
    ) -> None:
        self._schema = schema
        self._collector = collector
        root = schema.get_root_type(operation.operation)
        assert root is not None
        self._root_type = root
        self._root = _Selection(self, (operation.selection_set,))

    def compile(
        self,
        object_type: GraphQLObjectType | GraphQLInterfaceType,
        sets: tuple[SelectionSetNode, ...],
    ) -> tuple[_Field, ...]:
        compiled = []
        for key, nodes in self._collector.collect(object_type.name, sets).items():
            name = nodes[0].name.value
            if name == "__typename":
                compiled.append(_Field(key, name, object_type.name, object_type, (), None))
                continue
            field_type = object_type.fields[name].type
            child_sets = tuple(n.selection_set for n in nodes if n.selection_set is not None)
            child = _Selection(self, child_sets) if child_sets else None
            named = get_nullable_type(field_type)
            # Enums are checked against the API schema's values, so they take the slow path.
            leaf = is_leaf_type(named) and not isinstance(named, GraphQLEnumType)
            compiled.append(
                _Field(key, name, object_type.name, field_type, tuple(nodes), child, leaf)
            )
        return tuple(compiled)

    def shape(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, Errors]:
        errors: Errors = []
        try:
            return self._object(data, self._root_type, self._root, [], errors), errors
        except _Null:
            return None, errors

    def _object(
        self,
        value: dict[str, Any],
        object_type: GraphQLObjectType | GraphQLInterfaceType,
        selection: _Selection,
        path: list[str | int],
        errors: Errors,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        fields = selection.by_type.get(object_type.name) or selection.fields_for(object_type)
        for field in fields:
            raw = value.get(field.key)
            if field.leaf and raw is not None and type(raw) is not FieldError:
                result[field.key] = raw
                continue
            if field.name == "__typename":
                result[field.key] = object_type.name
                continue
            path.append(field.key)
            try:
                result[field.key] = self._complete(raw, field.type, field, path, errors)
            finally:
                path.pop()
        return result

    def _complete(
        self,
        raw: Any,
        field_type: GraphQLOutputType,
        field: _Field,
        path: list[str | int],
        errors: Errors,
    ) -> Any:
        non_null = type(field_type) is GraphQLNonNull
        if raw is not None and type(raw) is not FieldError:
            if non_null:
                return self._value(raw, field_type.of_type, field, path, errors)  # type: ignore[union-attr]
            try:
                return self._value(raw, field_type, field, path, errors)
            except _Null:
                return None
        if raw is not None:  # a FieldError the executor left where a subgraph failed
            errors.append(_located(raw.message, field, raw.path or list(path), raw.extensions))
        elif non_null:
            message = f"Cannot return null for non-nullable field {field.parent}.{field.name}."
            errors.append(_located(message, field, list(path), None))
        if non_null:
            raise _Null
        return None

    def _value(
        self,
        raw: Any,
        value_type: GraphQLOutputType,
        field: _Field,
        path: list[str | int],
        errors: Errors,
    ) -> Any:
        kind = type(value_type)
        if kind is GraphQLObjectType:
            if type(raw) is not dict or field.child is None:
                return self._invalid(field, path, errors, "an object")
            return self._object(raw, value_type, field.child, path, errors)  # type: ignore[arg-type]
        if kind is GraphQLList:
            if type(raw) is not list:
                return self._invalid(field, path, errors, "a list")
            item_type = value_type.of_type  # type: ignore[union-attr]
            # Non-null objects, the common item: straight to the object (no null to check).
            objects = (
                item_type.of_type
                if type(item_type) is GraphQLNonNull
                and type(item_type.of_type) is GraphQLObjectType
                and field.child is not None
                else None
            )
            items = []
            for index, item in enumerate(raw):
                path.append(index)
                try:
                    if objects is not None and type(item) is dict:
                        items.append(self._object(item, objects, field.child, path, errors))  # type: ignore[arg-type]
                    else:
                        items.append(self._complete(item, item_type, field, path, errors))
                finally:
                    path.pop()
            return items
        if is_leaf_type(value_type):
            if isinstance(value_type, GraphQLEnumType) and raw not in value_type.values:
                # A value the API schema hides (@inaccessible) or never had: a field error.
                message = f"Enum '{value_type.name}' cannot represent value: {raw!r}"
                errors.append(_located(message, field, list(path), None))
                raise _Null
            return raw
        if not isinstance(raw, dict) or field.child is None:
            return self._invalid(field, path, errors, "an object")
        typename = raw.get("__typename")
        if typename is None and isinstance(value_type, GraphQLInterfaceType):
            # From an @interfaceObject only, and nothing asked needed the concrete type.
            return self._object(raw, value_type, field.child, path, errors)
        runtime = self._schema.get_type(str(typename))
        if not isinstance(runtime, GraphQLObjectType) or not self._schema.is_sub_type(
            value_type,  # type: ignore[arg-type]
            runtime,
        ):
            return self._invalid(field, path, errors, f"a member of {value_type}")
        return self._object(raw, runtime, field.child, path, errors)

    def _invalid(self, field: _Field, path: list[str | int], errors: Errors, expected: str) -> Any:
        message = f"Subgraph data for {field.parent}.{field.name} is not {expected}."
        errors.append(_located(message, field, list(path), None))
        raise _Null


def _located(
    message: str,
    field: _Field,
    path: list[str | int],
    extensions: Mapping[str, Any] | None,
) -> dict[str, Any]:
    error = GraphQLError(
        message,
        nodes=list(field.nodes),
        path=path,
        extensions=dict(extensions) if extensions else None,
    )
    return dict(error.formatted)


def _resolve(parent: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
    value = parent.get(info.path.key) if isinstance(parent, dict) else None
    if type(value) is FieldError:
        raise GraphQLError(
            value.message,
            nodes=info.field_nodes,
            path=value.path or info.path.as_list(),
            extensions=dict(value.extensions) if value.extensions else None,
        )
    return value


def shape_with_introspection(
    schema: GraphQLSchema,
    document: DocumentNode,
    data: dict[str, Any],
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
) -> tuple[dict[str, Any] | None, Errors]:
    """graphql-core's executor over the merged data: answers introspection from the schema."""
    result = execute_sync(
        schema,
        document,
        root_value=data,
        variable_values=dict(variables) if variables else None,
        operation_name=operation_name,
        field_resolver=_resolve,
    )
    return result.data, [dict(e.formatted) for e in result.errors or ()]
