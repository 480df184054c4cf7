"""Planner: steps, one request per subgraph per step, internal key fields, limits."""

from __future__ import annotations

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.compose import compose
from gateway.limits import Limits, check_document
from gateway.plan import QueryPlan
from gateway.planner import build_plan
from gateway.subgraph import Subgraph
from gateway.supergraph import Supergraph, load_supergraph

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", '
    'import: ["@key", "@external", "@requires", "@shareable"])\n'
)
SUPERGRAPH: Supergraph = load_supergraph(
    compose(
        [
            Subgraph(
                "a",
                "http://a/graphql",
                LINK + 'type Query { items: [Item!]! } type Item @key(fields: "id") '
                "{ id: ID! weight: Int }",
            ),
            Subgraph(
                "b",
                "http://b/graphql",
                LINK + 'type Item @key(fields: "id") { id: ID! weight: Int @external '
                'cost: Int @requires(fields: "weight") owner: Person }'
                ' type Person @key(fields: "id") { id: ID! }',
            ),
            Subgraph(
                "c",
                "http://c/graphql",
                LINK + 'type Person @key(fields: "id") { id: ID! name: String }',
            ),
        ]
    )
)


def _plan(query: str, variables: dict[str, object] | None = None) -> QueryPlan:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return build_plan(SUPERGRAPH, operation, fragments, variables or {})


def test_single_subgraph_query_is_one_step_one_request() -> None:
    plan = _plan("{ items { id weight } }")

    (phase,) = plan.phases
    assert [[r.graph for r in step] for step in phase.steps] == [["a"]]
    assert phase.steps[0][0].operation == "query { items { id weight } }"


def test_requires_and_nested_entities_make_ordered_steps() -> None:
    plan = _plan("{ items { cost owner { name } } }")

    (phase,) = plan.phases
    assert [[r.graph for r in step] for step in phase.steps] == [["a"], ["b"], ["c"]]
    root = phase.steps[0][0].operation
    assert "_k_id: id" in root and "_k_weight: weight" in root
    to_b = phase.steps[1][0]
    assert to_b.operation.startswith("query($_r0: [_Any!]!) { _r0: _entities")
    assert set(to_b.fetches[0].representation) == {"id", "weight"}
    assert plan.request_count == 3


def test_skip_and_include_are_decided_at_planning_time() -> None:
    query = "query($on: Boolean!) { items { id cost @include(if: $on) } }"

    assert _plan(query, {"on": False}).request_count == 1
    assert _plan(query, {"on": True}).request_count == 2


def test_mutation_fields_become_serial_phases() -> None:
    schema = LINK + "type Query { x: Int } type Mutation { m: Int }"
    supergraph = load_supergraph(
        compose(
            [
                Subgraph("one", "http://one/graphql", schema),
                Subgraph(
                    "two",
                    "http://two/graphql",
                    LINK + "type Query { y: Int } type Mutation { n: Int }",
                ),
            ]
        )
    )
    document = parse("mutation { a: m b: n c: m d: m }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)

    plan = build_plan(supergraph, operation, {}, {})

    graphs = [phase.steps[0][0].graph for phase in plan.phases]
    assert graphs == ["one", "two", "one"]
    assert plan.phases[2].steps[0][0].operation == "mutation { c: m d: m }"


def test_depth_and_alias_limits() -> None:
    limits = Limits(max_depth=2, max_aliases=1)
    deep = parse("fragment F on Item { owner { id } } { items { ...F } }")
    aliased = parse("{ x: items { id } y: items { id } }")

    deep_violation = check_document(deep, limits)
    alias_violation = check_document(aliased, limits)

    assert deep_violation is not None and deep_violation.code == "QUERY_TOO_DEEP"
    assert alias_violation is not None and alias_violation.code == "TOO_MANY_ALIASES"
    assert check_document(parse("{ items { id } }"), limits) is None
