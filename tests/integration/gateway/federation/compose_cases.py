"""Compose each case's subgraphs into `cases/<case>.graphql` with The Guild's composer.

The supergraphs are committed: the gateway must run any valid supergraph, so its tests use
supergraphs from an independent implementation of the composition rules, not from our own
composer. To regenerate after changing a case's SDL (needs Node and npm):

    npm install --prefix DIR @theguild/federation-composition graphql
    .venv/bin/python -m tests.integration.gateway.federation.compose_cases DIR
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.integration.gateway.federation.harness import CASES, SubgraphSpec, subgraph_url

_SCRIPT = """
const { composeServices } = require("@theguild/federation-composition");
const { parse } = require("graphql");
const spec = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const result = composeServices(
  spec.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }))
);
if (result.errors && result.errors.length) {
  console.error(result.errors.map((e) => e.message).join("\\n"));
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);
"""


def compose(composer_dir: Path, specs: list[SubgraphSpec]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        described = [{"name": s.name, "url": subgraph_url(s.name), "sdl": s.sdl} for s in specs]
        json.dump(described, handle)
        handle.flush()
        done = subprocess.run(
            ["node", "-e", _SCRIPT, handle.name],
            cwd=composer_dir,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "NODE_PATH": str(composer_dir / "node_modules")},
        )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return done.stdout


def main() -> None:
    composer_dir = Path(sys.argv[1]).resolve()
    package = Path(__file__).parent
    for module_path in sorted(package.glob("test_*.py")):
        module = importlib.import_module(f"{__package__}.{module_path.stem}")
        for case, specs in getattr(module, "CASES", {}).items():
            (CASES / f"{case}.graphql").write_text(compose(composer_dir, specs))
            print(f"composed {case}")


if __name__ == "__main__":
    main()
