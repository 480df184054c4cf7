"""Validation results cached per query text.

strawberry's own ``ValidationCache`` keys on the validation rules too, and the kit's depth and
alias limiters build new rule classes for every request, so it never hits. The rules are the
same for every request of a schema, so the query text (plus the rules' names) is a sound key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import GraphQLError, validate
from strawberry.extensions import SchemaExtension

MAX_ENTRIES = 512
_cache: OrderedDict[tuple[str, tuple[str, ...]], list[GraphQLError]] = OrderedDict()


class QueryValidationCache(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        rules = tuple(context.validation_rules)
        if context.query is None or context.graphql_document is None:
            yield
            return
        key = (context.query, tuple(rule.__qualname__ for rule in rules))
        errors = _cache.get(key)
        if errors is None:
            errors = validate(context.schema._schema, context.graphql_document, rules)
            _cache[key] = errors
            if len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
        context.pre_execution_errors = errors
        yield
