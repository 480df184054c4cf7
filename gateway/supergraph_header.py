"""The fixed machinery of a join/v0.3 supergraph: directive and type definitions, graph names."""

from __future__ import annotations

import re

SUPERGRAPH_HEADER = '''\
directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION \
| SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, \
type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on \
FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT \
| INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, \
resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT \
| INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) \
repeatable on SCHEMA

scalar join__FieldSet

scalar link__Import

enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}'''

# Names of supergraph machinery that the client-facing API schema never shows.
MACHINERY_PREFIXES = ("join__", "link__")
MACHINERY_DIRECTIVES = frozenset({"link", "inaccessible", "tag", "authenticated"})


def graph_enum_name(subgraph_name: str) -> str:
    """The join__Graph enum value for a subgraph name, as the standard composers spell it."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", subgraph_name).upper()
    return f"_{name}" if name[:1].isdigit() else name
