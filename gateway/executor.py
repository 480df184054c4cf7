"""Runs a query plan: sends each step's requests in parallel and merges the answers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.plan import (
    CONFLICT_MARKER,
    REPRESENTATIONS_PREFIX,
    Fetch,
    QueryPlan,
    RepresentationField,
    Request,
)
from gateway.transport import SubgraphClient, SubgraphFailure

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldError:
    """Stands in the merged data where a subgraph failed; the shaper raises it at that field."""

    message: str
    extensions: Mapping[str, Any] | None = None
    path: list[str | int] | None = None


@dataclass
class ExecutionState:
    """The merged response data and the subgraph errors that could not be tied to a field."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Targets:
    """Entity objects for one fetch, deduplicated: representation i feeds objects[i]."""

    representations: list[dict[str, Any]]
    objects: list[list[tuple[Path, dict[str, Any]]]]


async def execute_plan(
    plan: QueryPlan,
    client: SubgraphClient,
    variables: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> ExecutionState:
    state = ExecutionState()
    # Only a query's subgraph requests may share an identical in-flight request's answer.
    shareable = plan.operation_type == "query"
    for phase in plan.phases:
        for step in phase.steps:
            if len(step) == 1:
                await _run_request(step[0], state, client, variables, headers, shareable)
            else:
                await asyncio.gather(
                    *(_run_request(r, state, client, variables, headers, shareable) for r in step)
                )
    return state


def _forwarded(request: Request, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {name: variables[name] for name in request.variables if name in variables}


async def _run_request(
    request: Request,
    state: ExecutionState,
    client: SubgraphClient,
    variables: Mapping[str, Any],
    headers: Mapping[str, str] | None,
    shareable: bool,
) -> None:
    if not request.fetches[0].is_entity:
        await _run_root(request, state, client, variables, headers, shareable)
        return
    targets = [_collect_targets(state.data, f) for f in request.fetches]
    if not any(t.representations for t in targets):
        return
    sent = _forwarded(request, variables)
    for index, target in enumerate(targets):
        sent[f"{REPRESENTATIONS_PREFIX}{index}"] = target.representations
    try:
        response = await client.post(
            request.graph, request.operation, sent, headers, shareable=shareable
        )
    except SubgraphFailure as failure:
        for fetch, target in zip(request.fetches, targets, strict=True):
            _fail_entities(fetch, target, failure)
        return
    data = response.get("data") or {}
    for index, (fetch, target) in enumerate(zip(request.fetches, targets, strict=True)):
        results = data.get(f"{REPRESENTATIONS_PREFIX}{index}")
        if not isinstance(results, list):
            continue
        if fetch.renamed:
            _rename(results, fetch.renamed)
        for result, objects in zip(results, target.objects, strict=False):
            if isinstance(result, dict):
                for _, obj in objects:
                    _merge(obj, result)
    for error in response.get("errors") or ():
        _place_entity_error(error, request, targets, state)


async def _run_root(
    request: Request,
    state: ExecutionState,
    client: SubgraphClient,
    variables: Mapping[str, Any],
    headers: Mapping[str, str] | None,
    shareable: bool,
) -> None:
    (fetch,) = request.fetches
    try:
        response = await client.post(
            request.graph,
            request.operation,
            _forwarded(request, variables),
            headers,
            shareable=shareable,
        )
    except SubgraphFailure as failure:
        error = _failure_error(failure)
        for key in fetch.selection.fields:
            state.data[key] = error
        return
    data = response.get("data")
    if isinstance(data, dict):
        if fetch.renamed:
            _rename(data, fetch.renamed)
        _merge(state.data, data)
    for error in response.get("errors") or ():
        path = error.get("path")
        if isinstance(path, list) and path and _place(state.data, path, error, path, request.graph):
            continue
        state.errors.append(_client_error(error, request.graph, path))


def _failure_error(failure: SubgraphFailure) -> FieldError:
    return FieldError(str(failure), {"code": failure.code, "serviceName": failure.graph})


def _fail_entities(fetch: Fetch, target: _Targets, failure: SubgraphFailure) -> None:
    error = _failure_error(failure)
    for objects in target.objects:
        for _, obj in objects:
            for key in fetch.selection.fields:
                obj.setdefault(key, error)


def _place_entity_error(
    error: dict[str, Any], request: Request, targets: list[_Targets], state: ExecutionState
) -> None:
    path = error.get("path")
    if isinstance(path, list) and len(path) >= 2 and isinstance(path[0], str):
        alias, index, rest = path[0], path[1], path[2:]
        position = alias[len(REPRESENTATIONS_PREFIX) :]
        if position.isdigit() and int(position) < len(targets) and isinstance(index, int):
            objects = targets[int(position)].objects
            if 0 <= index < len(objects):
                for object_path, obj in objects[index]:
                    client_path = list(object_path) + list(rest)
                    if not rest or not _place(obj, rest, error, client_path, request.graph):
                        state.errors.append(_client_error(error, request.graph, client_path))
                return
    state.errors.append(_client_error(error, request.graph, None))


def _client_error(error: dict[str, Any], graph: str, path: Any) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": str(error.get("message", "subgraph error"))}
    if path:
        formatted["path"] = list(path)
    extensions = dict(error.get("extensions") or {})
    extensions.setdefault("serviceName", graph)
    formatted["extensions"] = extensions
    return formatted


def _place(
    container: dict[str, Any],
    rest: list[Any],
    error: dict[str, Any],
    client_path: list[Any],
    graph: str,
) -> bool:
    """Put a FieldError at the first null on the error's path, where the client sees the null."""
    current: Any = container
    for position, segment in enumerate(rest):
        if isinstance(current, dict) and isinstance(segment, str):
            value = current.get(segment)
            if value is None:
                extensions = dict(error.get("extensions") or {})
                extensions.setdefault("serviceName", graph)
                current[segment] = FieldError(
                    str(error.get("message", "subgraph error")),
                    extensions,
                    client_path if position < len(rest) - 1 else None,
                )
                return True
            current = value
        elif isinstance(current, list) and isinstance(segment, int):
            if not 0 <= segment < len(current) or current[segment] is None:
                return False
            current = current[segment]
        else:
            return False
    return False


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        existing = target.get(key)
        if existing is None:
            target[key] = value
        elif type(existing) is dict and type(value) is dict:
            _merge(existing, value)
        elif type(existing) is list and type(value) is list and len(existing) == len(value):
            _merge_lists(existing, value)
        elif type(existing) is not FieldError:
            target[key] = value


def _merge_lists(target: list[Any], source: list[Any]) -> None:
    for index, (existing, value) in enumerate(zip(target, source, strict=True)):
        if type(existing) is dict and type(value) is dict:
            _merge(existing, value)
        elif type(existing) is list and type(value) is list and len(existing) == len(value):
            _merge_lists(existing, value)
        else:
            target[index] = value


def _collect_targets(data: dict[str, Any], fetch: Fetch) -> _Targets:
    found: list[tuple[Path, dict[str, Any]]] = []
    _walk(data, fetch.path, 0, (), found)
    representations: list[dict[str, Any]] = []
    objects: list[list[tuple[Path, dict[str, Any]]]] = []
    seen: dict[bytes, int] = {}
    fields = tuple(fetch.representation.values())
    matches = fetch.matches
    typename = fetch.type_name
    dumps = orjson.dumps
    for found_at in found:
        obj = found_at[1]
        if matches is not None and obj.get("__typename") not in matches:
            continue
        representation = _representation(obj, fields)
        if representation is None:
            continue  # a key is null or missing: the object cannot be referenced (errors say why)
        representation["__typename"] = typename
        # Fields are copied in the fetch's order, so equal representations dump equally.
        identity = dumps(representation)
        index = seen.get(identity)
        if index is None:
            seen[identity] = len(representations)
            representations.append(representation)
            objects.append([found_at])
        else:
            objects[index].append(found_at)
    return _Targets(representations, objects)


def _walk(
    value: Any,
    path: tuple[str, ...],
    depth: int,
    current: Path,
    found: list[tuple[Path, dict[str, Any]]],
) -> None:
    """The objects at `path` below `value`, with their response paths."""
    if depth == len(path):
        if type(value) is dict:
            found.append((current, value))
        elif type(value) is list:
            for index, item in enumerate(value):
                if type(item) is dict:
                    found.append(((*current, index), item))
                elif type(item) is list:
                    _walk(item, path, depth, (*current, index), found)
        return
    if type(value) is dict:
        key = path[depth]
        _walk(value.get(key), path, depth + 1, (*current, key), found)
    elif type(value) is list:
        if depth + 1 == len(path):
            # The common last step: a list of objects, each holding the field.
            key = path[depth]
            for index, item in enumerate(value):
                if type(item) is dict:
                    child = item.get(key)
                    if type(child) is dict:
                        found.append(((*current, index, key), child))
                    elif child is not None:
                        _walk(child, path, depth + 1, (*current, index, key), found)
            return
        for index, item in enumerate(value):
            _walk(item, path, depth, (*current, index), found)


_MISSING: Any = object()


def _representation(
    obj: dict[str, Any], fields: tuple[RepresentationField, ...]
) -> dict[str, Any] | None:
    """The representation of one object, or None when a key field is null or missing."""
    representation: dict[str, Any] = {}
    typename = obj.get("__typename")
    for rep_field in fields:
        if rep_field.types is not None and typename not in rep_field.types:
            continue
        value = obj.get(rep_field.data_key, _MISSING)
        if value is _MISSING:
            # Planned without an internal alias: the client selected the field itself.
            value = obj.get(rep_field.name)
        if isinstance(value, FieldError):
            return None
        if value is None:
            if rep_field.key:
                return None
            representation[rep_field.name] = None
            continue
        if rep_field.children:
            value = _nested(value, rep_field)
            if value is _MISSING:
                return None
        representation[rep_field.name] = value
    return representation


def _nested(value: Any, rep_field: RepresentationField) -> Any:
    if isinstance(value, list):
        items = [_nested(v, rep_field) for v in value]
        return _MISSING if any(i is _MISSING for i in items) else items
    if not isinstance(value, dict):
        return value
    nested = _representation(value, rep_field.children)
    if nested is None:
        return _MISSING
    if rep_field.typename and "__typename" in value:
        nested["__typename"] = value["__typename"]
    return nested


def _rename(value: Any, renamed: frozenset[str]) -> None:
    """Undo the type-specific aliases of fields whose types conflict between fragments."""
    if isinstance(value, list):
        for item in value:
            _rename(item, renamed)
    elif isinstance(value, dict):
        for key in [k for k in value if CONFLICT_MARKER in k]:
            base = key.split(CONFLICT_MARKER, 1)[0]
            if base in renamed:
                value[base] = value.pop(key)
        for item in value.values():
            if isinstance(item, (dict, list)):
                _rename(item, renamed)
