"""Collect every Japanese UI message id and merge it into app/locale/en.po.

Message ids are the Japanese text itself. They come from ``_()`` / ``gettext`` / ``ngettext``
calls in templates (Babel's Jinja2 extractor) and from Japanese string literals in the app's
Python modules (domain errors, validators, labels). Data modules (demo data, the seed list of
institutions) are not UI text and are skipped. Existing English translations are kept.

    .venv/bin/python scripts/i18n_catalog.py          # update en.po (new ids get an empty msgstr)
    .venv/bin/python scripts/i18n_catalog.py --check  # exit 1 when an id has no English
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "app" / "locale" / "en.po"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
# Data, character tables and parsers: their Japanese literals are not messages.
NOT_UI = {
    "app/demo.py",
    "app/directory/service.py",
    "app/core/wareki.py",
    "app/core/text.py",
    "app/cli.py",
    "app/main.py",
    "app/imports/columns.py",
    "app/devices/demo.py",
    # What is printed on paper is always Japanese (the paper goes to the household): the snapshots
    # and batches that moved here from card_printing, as before.
    "app/printing/batch.py",
    "app/printing/snapshots.py",
    "app/printing/glyphs.py",
}


def python_ids() -> set[str]:
    ids = set()
    for path in (ROOT / "app").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in NOT_UI or "/migrations/" in rel:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
        }
        formatted = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and JAPANESE.search(node.value)
                and id(node) not in docstrings
                and id(node) not in formatted
                and "\n" not in node.value
            ):
                ids.add(node.value)
    return ids


def template_ids() -> set[str]:
    method_map = [("**.html", "jinja2")]
    options = {"**.html": {"extensions": "jinja2.ext.i18n"}}
    ids = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "templates"),
        method_map,
        options_map=options,
        directory_filter=lambda path: not Path(path).name.startswith("."),
    ):
        for item in message if isinstance(message, tuple) else (message,):
            if item and JAPANESE.search(item):
                ids.add(item)
    return ids


def wanted_ids() -> set[str]:
    return python_ids() | template_ids()


def load() -> Catalog:
    if PO.exists():
        with PO.open("rb") as fh:
            return read_po(fh)
    return Catalog(locale="en", project="tone-lifeline")


def main() -> int:
    catalog = load()
    wanted = wanted_ids()
    missing = sorted(i for i in wanted if not (catalog.get(i) and catalog.get(i).string))
    if "--check" in sys.argv:
        for msgid in missing:
            print(f"untranslated: {msgid}")
        return 1 if missing else 0
    for msgid in wanted:
        if catalog.get(msgid) is None:
            catalog.add(msgid, "")
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_output=True, omit_header=False)
    print(f"{len(wanted)} ids, {len(missing)} without English")
    return 0


if __name__ == "__main__":
    sys.exit(main())
