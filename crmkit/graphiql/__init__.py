"""GraphiQL served from our own files, so the IDE works offline (no CDN).

The gateway's page and each service's dev page are the same HTML; the scripts and styles are
the vendored builds beside this module (see README.md here), served under ``ASSETS_PATH``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS_DIR = Path(__file__).resolve().parent
ASSETS_PATH = "/graphiql-assets"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="{assets}/react.production.min.js"></script>
<script src="{assets}/react-dom.production.min.js"></script>
<script src="{assets}/graphiql.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({{ url: {endpoint} }});
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {{
      fetcher,
      defaultEditorToolsVisibility: "headers",
      defaultHeaders: {headers},
    }})
  );
</script>
</body>
</html>
"""


BEARER_HEADERS = '{"Authorization": "Bearer "}'


def graphiql_page(
    title: str, endpoint: str = "/graphql", headers: str = BEARER_HEADERS
) -> HTMLResponse:
    """The IDE page for ``endpoint``; ``headers`` pre-fills the headers editor (JSON text)."""
    page = _PAGE.format(
        title=html.escape(title),
        assets=ASSETS_PATH,
        endpoint=_js_string(endpoint),
        headers=_js_string(headers),
    )
    return HTMLResponse(page)


def graphiql_assets() -> Mount:
    """The route serving the vendored scripts and styles."""
    return Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")


def _js_string(value: str) -> str:
    # JSON is valid JavaScript; "</" is escaped so the text cannot close the script element.
    return json.dumps(value).replace("</", "<\\/")
