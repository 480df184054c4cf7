"""The web app salespeople, managers and admins work in: server-rendered pages with htmx, a
client of the gateway's public GraphQL API like any other frontend."""
