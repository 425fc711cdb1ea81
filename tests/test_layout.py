"""Dependencies point one way: bot → handlers → models, handlers → knowledge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "models": {"bot", "handlers", "knowledge", "flask"},
    "knowledge": {"bot", "handlers", "flask"},
    "handlers": {"bot", "flask", "requests", "urllib3", "linebot"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in FORBIDDEN[package]:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_only_line_api_talks_to_line():
    users = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if path.parts[len(ROOT.parts)] in {"tests", ".venv", "venv"}:
            continue
        if any(name.startswith("linebot.v3.messaging") for name in _imports(path)):
            users.append(str(path.relative_to(ROOT)))
    assert users == ["bot/line_api.py"]


def test_top_level_is_as_designed():
    required = {"bot", "handlers", "knowledge", "models", "tests", "Procfile", "requirements.txt", "README.md"}
    assert required <= {p.name for p in ROOT.iterdir()}
    assert (ROOT / ".ci" / "run").is_file()
