"""The floors of the code (docs/decisions.md "Layering"): every import points down, function-level ones included.

1. ``app.core``: settings, db, crypto, text, errors, middleware. Knows no domain.
2. Libraries: ``card_printing`` (layouts) and ``app.audit`` (the log itself). Each reaches only itself and core.
3. Domains: ``app.<domain>``; they may use each other, core and the libraries.
4. Orchestration and edges: printing batches, the FHIR network, reviews, reports, operations.
5. Entry points: ``app.main``, the CLI (``app.cli`` and every ``cli.py``), the demo, migrations.

An import inside a function is not a way round a cycle: it is refused everywhere but in CLI
commands, where it keeps ``lifeline --help`` fast and must say so in a comment before it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "card_printing")

CORE, LIBRARY, DOMAIN, EDGE, ENTRY = 1, 2, 3, 4, 5
FLOORS = {
    "app.core": CORE,
    "card_printing": LIBRARY,
    "app.audit": LIBRARY,
    **dict.fromkeys(
        (
            "app.auth",
            "app.cards",
            "app.devices",
            "app.directory",
            "app.ems",
            "app.history",
            "app.households",
            "app.imports",
            "app.persons",
            "app.residents",
            "app.scans",
        ),
        DOMAIN,
    ),
    **dict.fromkeys(
        (
            "app.bootstrap",
            "app.models",
            "app.network",
            "app.operations",
            "app.printing",
            "app.reports",
            "app.reviews",
        ),
        EDGE,
    ),
    **dict.fromkeys(("app.main", "app.cli", "app.asgi", "app.demo", "app.migrations"), ENTRY),
}
NAMES = {CORE: "core", LIBRARY: "a library", DOMAIN: "a domain", EDGE: "orchestration", ENTRY: "an entry point"}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    imported: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported}: {self.why}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor_of(module: str) -> int | None:
    if module == "app" or module.rsplit(".", 1)[-1] == "cli":
        return ENTRY  # the package itself, and the commands of a package (they belong to the console entry point)
    for prefix in sorted(FLOORS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return FLOORS[prefix]
    return None


def _library(module: str) -> str:
    """The library a floor-2 module belongs to (``card_printing`` or ``app.audit``)."""
    return "card_printing" if module.startswith("card_printing") else "app.audit"


def _targets(node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or not node.module:
        return []
    # ``from app import bootstrap`` names the module app.bootstrap, not the package app.
    return [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names]


def _in_function(tree: ast.Module) -> dict[int, ast.AST]:
    """The import nodes inside a function body, by id, with the function holding them."""
    found = {}
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.setdefault(id(node), func)
    return found


def check(path: str, source: str, known: set[str]) -> list[Violation]:
    """Every import of ``source`` (the module at ``path``, relative to the repository) that breaks a rule."""
    module = module_name(ROOT / path)
    floor = floor_of(module)
    if floor is None:
        return [Violation(path, 1, module, "a package with no floor: add it to FLOORS in tests/test_layering.py")]
    tree = ast.parse(source)
    lines = source.splitlines()
    nested = _in_function(tree)
    commented: set[int] = set()  # functions whose lazy imports were explained
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        for target in _targets(node, known):
            if target.split(".")[0] not in PACKAGES:
                continue
            theirs = floor_of(target)
            if theirs is None:
                found.append(Violation(path, node.lineno, target, "a package with no floor"))
            elif theirs > floor:
                found.append(Violation(path, node.lineno, target, f"{NAMES[floor]} may not reach {NAMES[theirs]}"))
            elif floor == LIBRARY and theirs == LIBRARY and _library(target) != _library(module):
                found.append(Violation(path, node.lineno, target, "a library reaches only itself and app.core"))
            if id(node) in nested:
                func = nested[id(node)]
                if floor != ENTRY or not module.endswith("cli"):
                    found.append(Violation(path, node.lineno, target, "an import inside a function (move it up)"))
                elif id(func) not in commented:
                    if not any(line.strip().startswith("#") for line in lines[func.lineno : node.lineno - 1]):
                        found.append(
                            Violation(path, node.lineno, target, "a CLI command's lazy import needs a comment above it")
                        )
                    commented.add(id(func))
    return found


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "versions" not in p.parts)


def test_every_import_points_down():
    paths = _sources()
    known = {module_name(p) for p in paths}
    violations = [v for p in paths for v in check(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"), known)]
    assert not violations, "imports against the floors:\n" + "\n".join(map(str, violations))


KNOWN = {"app.core.clock", "app.cards.service", "app.bootstrap", "app.printing.batch", "card_printing.qr"}


@pytest.mark.parametrize(
    "path,source,why",
    [
        ("card_printing/sheet.py", "from app.cards import service\n", "a library may not reach a domain"),
        ("card_printing/sheet.py", "from app.printing.batch import Summary\n", "a library may not reach orchestration"),
        ("card_printing/sheet.py", "import app.audit.service\n", "a library reaches only itself and app.core"),
        ("app/core/headers.py", "from app.ems import views\n", "core may not reach a domain"),
        ("app/core/db.py", "from app import bootstrap\n", "core may not reach orchestration"),
        ("app/audit/service.py", "from app.persons.models import Person\n", "a library may not reach a domain"),
        ("app/persons/dataset.py", "from app.printing import batch\n", "a domain may not reach orchestration"),
        ("app/persons/dataset.py", "def f():\n    from app.cards import service\n", "an import inside a function"),
        ("app/printing/cli.py", "def f():\n    from app.cards import service\n", "needs a comment above it"),
        ("app/newthing/service.py", "x = 1\n", "a package with no floor"),
    ],
)
def test_a_forbidden_import_is_named_with_its_line(path, source, why):
    violations = check(path, source, KNOWN)
    assert len(violations) == 1 and why in violations[0].why, violations
    assert violations[0].path == path and violations[0].line == source.count("\n")


@pytest.mark.parametrize(
    "path,source",
    [
        ("card_printing/sheet.py", "from app.core.clock import today_jst\nfrom card_printing import qr\n"),
        ("app/cards/service.py", "from card_printing import qr\nfrom app.audit import service\n"),
        ("app/printing/cli.py", "def f():\n    # Lazy: --help stays fast.\n    from app.printing import batch\n"),
        ("app/cards/credential.py", "if TYPE_CHECKING:\n    from app.cards import qr\n"),
    ],
)
def test_allowed_imports_pass(path, source):
    assert check(path, source, KNOWN) == []
