"""The ``_entities`` answer completed without graphql-core's machinery per field, when it can be.

graphql-core completes each entity of an ``_entities`` answer as a union member: the type
resolved, the selection collected, and then, per field, a path, a resolve info, the resolver
and the leaf's coercion. For the references the gateway sends (100 entities with two or
three plain fields each) that was a third of the leads service's CPU for the request, more
than reading the rows.

:class:`EntityExecutionContext` completes an answer of the kit's bulk resolution
(:class:`EntityAnswers`, :mod:`crmkit.references`) itself when every field selected on every
type of it is a plain field (a strawberry field with no resolver, no arguments and no
extensions, of a scalar or enum type or a list of one, or ``__typename``) and every value
completes without a problem. It calls the same type resolver, field resolvers and leaf
coercion as graphql-core, in the same order, so the answer is the same. Anything else
(another selection, a directive, a null where none may be, a value the coercion refuses, a
failed reference, middleware) goes to graphql-core as a whole, which gives its usual answer
and errors; a differential test holds the two to each other
(``tests/unit/kit/test_entity_answers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from inspect import isawaitable
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Undefined,
    is_abstract_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.language import FieldNode
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.union import StrawberryUnion


class EntityAnswers(list[Any]):
    """An ``_entities`` answer whose items are resolved already: each an entity, None or the
    exception its reference failed with (what the kit's bulk resolution returns)."""


class _Declined(Exception):
    """The answer needs graphql-core's completion."""


# Values whose completion cannot be awaitable: the rest are checked.
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})
Complete = Callable[[Any], Any]
# A type's plan: each response key with how the field's value is read from an entity (None:
# the type's name) and how it completes.
Plan = tuple[GraphQLObjectType, list[tuple[str, Callable[[Any], Any] | None, Complete]]]


class EntityExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with plain ``_entities`` answers completed directly."""

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is EntityAnswers and self.middleware_manager is None:
            completed = self._plain_or_none(return_type.of_type, field_details_list, info,
                                            result)
            if completed is not None:
                return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context)

    def _plain_or_none(
        self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any], result: EntityAnswers,
    ) -> list[dict[str, Any] | None] | None:
        try:
            return self._complete_plain(item_type, field_details_list, info, result)
        except Exception:  # declined, or a resolver or a coercion failed: graphql-core's
            return None

    def _complete_plain(
        self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any], result: EntityAnswers,
    ) -> list[dict[str, Any] | None]:
        if not is_abstract_type(item_type) or any(
            d.node.directives for d in field_details_list
        ):
            raise _Declined
        assert isinstance(item_type, GraphQLAbstractType)
        resolve_type = item_type.resolve_type or self.type_resolver
        # Strawberry's union resolver names the same type for every plain instance of a
        # class (not cast, not generic): asked once per class.
        same_per_class = _is_strawberry_union_resolver(resolve_type)
        names: dict[type, str] = {}
        plans: dict[str, Plan] = {}
        completed: list[dict[str, Any] | None] = []
        for item in result:
            if item is None:
                completed.append(None)
                continue
            if isinstance(item, Exception):
                raise _Declined
            cast_to = getattr(item, TYPE_CAST_ATTRIBUTE, None)
            name = names.get(type(item)) if cast_to is None else None
            if name is None:
                resolved: Any = resolve_type(item, info, item_type)
                if type(resolved) is not str:  # awaitable, None or not a name: graphql-core's
                    raise _Declined
                name = resolved
                if same_per_class and cast_to is None and _plain_class(type(item)):
                    names[type(item)] = name
            plan = plans.get(name)
            if plan is None:
                plan = plans[name] = self._plan(name, item_type, field_details_list)
            runtime_type, fields = plan
            if runtime_type.is_type_of is not None:
                is_type_of = runtime_type.is_type_of(item, info)
                if is_type_of is not True:
                    raise _Declined
            row: dict[str, Any] = {}
            for key, read, complete in fields:
                row[key] = complete(name if read is None else read(item))
            completed.append(row)
        return completed

    def _plan(
        self, name: str, item_type: GraphQLAbstractType, field_details_list: FieldDetailsList
    ) -> Plan:
        runtime_type = self.schema.get_type(name)
        if not is_object_type(runtime_type) or not self.schema.is_sub_type(
            item_type, runtime_type
        ):
            raise _Declined
        assert isinstance(runtime_type, GraphQLObjectType)
        grouped, defer_usages, _ = self.collect_subfields(runtime_type, field_details_list)
        if defer_usages:
            raise _Declined
        fields: list[tuple[str, Callable[[Any], Any] | None, Complete]] = []
        for key, details in grouped.items():
            node: FieldNode = details[0].node
            field_name = node.name.value
            if field_name == "__typename":
                fields.append((key, None, _same))  # the type's name
                continue
            field_def = runtime_type.fields.get(field_name)
            if field_def is None or field_def.args or any(
                d.node.arguments or d.node.directives for d in details
            ):
                raise _Declined
            resolve = field_def.resolve
            strawberry_field = field_def.extensions.get("strawberry-definition")
            # Strawberry's resolver of a field with no resolver, permission or extension:
            # the attribute itself, no resolve info needed (it passes None too).
            if (getattr(resolve, "__name__", None) != "_get_basic_result"
                    or not getattr(resolve, "_is_default", False)
                    or strawberry_field is None or not strawberry_field.is_basic_field):
                raise _Declined
            # What that resolver reads: the attribute through the default resolver.
            read = (attrgetter(strawberry_field.python_name)
                    if strawberry_field.default_resolver is getattr
                    else partial(resolve, info=None))
            fields.append((key, read, _completion(field_def.type)))
        return runtime_type, fields


def _is_strawberry_union_resolver(resolve_type: Any) -> bool:
    return (getattr(resolve_type, "__module__", None) == StrawberryUnion.__module__
            and getattr(resolve_type, "__name__", None) == "_resolve_union_type")


def _plain_class(cls: type) -> bool:
    """A strawberry type whose instances all resolve to one union member: not generic."""
    definition = getattr(cls, "__strawberry_definition__", None)
    return (isinstance(definition, StrawberryObjectDefinition)
            and definition.concrete_of is None and not definition.is_graphql_generic)


def _same(value: Any) -> Any:
    return value


def _completion(field_type: GraphQLOutputType) -> Complete:
    """How a plain field's value completes (as graphql-core's ``complete_value`` would),
    raising where graphql-core would report an error."""
    nullable = not isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if isinstance(inner, GraphQLList):
        item = _completion(inner.of_type)

        def complete_list(value: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise _Declined
            if type(value) not in (list, tuple):  # other iterables: graphql-core's
                raise _Declined
            return [item(v) for v in value]

        return complete_list
    if not is_leaf_type(inner):
        raise _Declined
    assert isinstance(inner, GraphQLLeafType)
    coerce = inner.coerce_output_value

    def complete_leaf(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _Declined
        if type(value) not in _PLAIN_VALUES and isawaitable(value):
            raise _Declined  # graphql-core awaits it
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Declined
        return coerced

    return complete_leaf
