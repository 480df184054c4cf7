"""GraphQL federation gateway: composes subgraph schemas and executes operations across them."""
