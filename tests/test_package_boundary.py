"""What ships and what helps build it live apart: nothing under ``layer/`` reaches the tools."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = "labelhub_tools"
LAYER_MODULES = sorted(p for p in (ROOT / "layer").rglob("*.py") if "build" not in p.relative_to(ROOT).parts)


def _names_reached(path: Path) -> set[str]:
    """Absolute module names imported by ``path``, and dotted strings that look like module names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value.partition(":")[0])
    return found


def test_the_layer_has_python_modules_to_check():
    assert len(LAYER_MODULES) > 30
    assert ROOT / "layer" / "grafana_scf" / "app.py" in LAYER_MODULES


@pytest.mark.parametrize("path", LAYER_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_layer_module_imports_the_tools(path):
    reached = sorted(n for n in _names_reached(path) if n == TOOLS or n.startswith(TOOLS + "."))
    assert not reached, f"{path.relative_to(ROOT)} reaches the dev tools: {reached}"


def test_the_engine_package_holds_no_tool_module():
    engine = ROOT / "layer" / "grafana_scf"
    for name in ("cli.py", "__main__.py", "query_cli.py", "termview.py", "local", "demo", "emulator"):
        assert not (engine / name).exists(), name


def test_the_check_catches_an_import_and_a_module_string(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import labelhub_tools.local\nREGISTRY = {'x': 'labelhub_tools.demo.loader:seed'}\n")
    assert {"labelhub_tools.local", "labelhub_tools.demo.loader"} <= _names_reached(bad)
