"""What the service edge refuses in an operation before anything runs: the operation's text
looked at once (its size bounded while parsing, SDL-only and introspection requests told
apart, control characters in inline arguments found) and its variables walked for control
characters and over-long lists. Mutations that answer control characters themselves with
``ValidationError`` (:mod:`crmkit.control_characters`) are left to do so."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.error import GraphQLError

from crmkit.control_characters import (
    CONTROL_CHARACTERS,
    MESSAGE,
    json_may_hold_control_characters,
)
from crmkit.query_limits import OperationTooLarge, parse_bounded


@dataclass(frozen=True)
class Operation:
    """What the edge needs to know of an operation's text before running it."""

    error: str | None = None
    sdl_only: bool = False
    introspection: bool = False
    control_characters: str | None = None  # where a string argument holds one
    # Variables used only by arguments of mutation fields that answer control characters
    # themselves with ``ValidationError`` (:mod:`crmkit.control_characters`).
    answered_variables: frozenset[str] = frozenset()


# No list argument of the CRM takes more; 100,000 ids overran the database driver's limit of
# values in one statement.
MAX_LIST_ITEMS = 10_000


def control_character_path(value: Any, path: str) -> str | None:
    """The path of the first string in ``value`` holding a control character, if any."""
    problem = input_problem(value, path)
    return problem[0] if problem is not None and problem[1] == MESSAGE else None


def input_problem(value: Any, path: str, *, text: bool = True) -> tuple[str, str] | None:
    """``(path, what is wrong)`` of the first unacceptable value in ``value``, if any: a
    string holding a control character (unless not ``text``), a list longer than
    ``MAX_LIST_ITEMS``."""
    if isinstance(value, str):
        return (path, MESSAGE) if text and CONTROL_CHARACTERS.search(value) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            return path, f"at most {MAX_LIST_ITEMS} items"
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = input_problem(item, f"{path}.{key}", text=text)
        if found is not None:
            return found
    return None


def variables_problem(variables: Any, answered: frozenset[str]) -> tuple[str, str] | None:
    """:func:`input_problem` of a request's variables; in those the operation's mutation
    answers itself, only an over-long list."""
    if not answered or not isinstance(variables, dict):
        return input_problem(variables, "variables")
    for name, value in variables.items():
        found = input_problem(value, f"variables.{name}", text=name not in answered)
        if found is not None:
            return found
    return None


def inspect_operation(
    query: str, answering: frozenset[str] = frozenset(), mutation: str = "Mutation"
) -> Operation:
    """``answering``: the root fields of the ``mutation`` type that answer control characters
    in their arguments themselves; the edge refuses them everywhere else."""
    try:
        document = parse_bounded(query)
    except OperationTooLarge as error:
        return Operation(error=str(error))
    except GraphQLError:
        return Operation()  # strawberry answers the syntax error
    sdl_only = True
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            sdl_only = False
            continue
        for selection in definition.selection_set.selections:
            name = getattr(getattr(selection, "name", None), "value", None)
            sdl_only = sdl_only and definition.operation.value == "query" and name == "_service"
    if sdl_only:
        return Operation(sdl_only=True)
    introspection = any(
        isinstance(node, FieldNode) and node.name.value in ("__schema", "__type")
        for node in _fields(document)
    )
    answered = _answering_fields(document, answering, mutation) if answering else set()
    control: str | None = None
    in_answered: set[str] = set()
    elsewhere: set[str] = set()
    for node in _argument_holders(document):
        mine = id(node) in answered
        for argument in node.arguments or ():
            (in_answered if mine else elsewhere).update(_variables_in(argument.value))
            if control is None and not mine:
                where = _control_character_at(argument.value, argument.name.value)
                control = f"argument {where}" if where else None
    return Operation(introspection=introspection, control_characters=control,
                      answered_variables=frozenset(in_answered - elsewhere))


def _answering_fields(
    document: DocumentNode, answering: frozenset[str], mutation: str
) -> set[int]:
    """The ids of the root mutation field nodes named in ``answering`` (also in fragments
    on the mutation type)."""
    pending = [
        definition.selection_set for definition in document.definitions
        if (isinstance(definition, OperationDefinitionNode)
            and definition.operation == OperationType.MUTATION)
        or (isinstance(definition, FragmentDefinitionNode)
            and definition.type_condition.name.value == mutation)
    ]
    found: set[int] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode) and selection.name.value in answering:
                found.add(id(selection))
            elif isinstance(selection, InlineFragmentNode) and (
                selection.type_condition is None
                or selection.type_condition.name.value == mutation
            ):
                pending.append(selection.selection_set)
    return found


def _argument_holders(document: DocumentNode) -> Iterator[FieldNode | DirectiveNode]:
    """Every node of the document that takes arguments: fields and directives."""
    pending: list[Any] = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, (FieldNode, DirectiveNode)):
            yield node
        for key in node.keys:
            value = getattr(node, key, None)
            if isinstance(value, (list, tuple)):
                pending.extend(item for item in value if isinstance(item, Node))
            elif isinstance(value, Node) and not isinstance(value, ValueNode):
                pending.append(value)


def _variables_in(value: ValueNode) -> Iterator[str]:
    if isinstance(value, VariableNode):
        yield value.name.value
    elif isinstance(value, ListValueNode):
        for item in value.values:
            yield from _variables_in(item)
    elif isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _variables_in(field.value)


def _control_character_at(value: ValueNode, path: str) -> str | None:
    """The path (``input.tags.1``) of the first inline string holding a control character."""
    if isinstance(value, StringValueNode):
        return path if CONTROL_CHARACTERS.search(value.value) else None
    if isinstance(value, ListValueNode):
        return next((found for index, item in enumerate(value.values)
                     if (found := _control_character_at(item, f"{path}.{index}"))), None)
    if isinstance(value, ObjectValueNode):
        return next((found for field in value.fields
                     if (found := _control_character_at(field.value,
                                                        f"{path}.{field.name.value}"))), None)
    return None


def _fields(document: DocumentNode) -> Iterator[FieldNode]:
    pending: list[Any] = list(document.definitions)
    while pending:
        node = pending.pop()
        if isinstance(node, FieldNode):
            yield node
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            pending.extend(selection_set.selections)


def may_hold_input_problem(raw: bytes) -> bool:
    """Whether JSON text may hold what :func:`input_problem` refuses: a control character
    (:func:`json_may_hold_control_characters`) or a list of more than ``MAX_LIST_ITEMS``
    (n items take n - 1 commas); a false alarm only costs the full walk over the values."""
    return json_may_hold_control_characters(raw) or raw.count(b",") >= MAX_LIST_ITEMS
