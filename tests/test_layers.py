"""The layers of DESIGN.md: each subpackage imports only from the layers above it, and
`import hdeq` loads no plotting, CLI or distributed machinery."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hdeq"
ORDER = ["core", "laws", "equivalents", "models", "data", "experiments", "report", "cli"]


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("hdeq."):
                found.add(node.module.split(".")[1])
            elif node.level >= 2:  # from ..laws import X
                parts = rel.parts[: len(rel.parts) - node.level]
                target = (list(parts) + (node.module or "").split("."))
                target = [t for t in target if t]
                if target:
                    found.add(target[0])
            elif node.level == 1 and len(rel.parts) == 1 and node.module:
                found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("hdeq."):
                    found.add(alias.name.split(".")[1])
    return found & set(ORDER)


@pytest.mark.parametrize("layer", ORDER)
def test_layer_imports_only_layers_above(layer):
    allowed = set(ORDER[: ORDER.index(layer) + 1])
    if layer == "data":
        # data generators know no theory: they import only the core ...
        allowed = {"core", "data"}
    elif layer in ("equivalents", "models"):
        # ... so the simulation twins of equivalents and models may draw with them.
        allowed |= {"data"}
    for path in (PACKAGE / layer).rglob("*.py"):
        bad = _imported_layers(path) - allowed
        assert not bad, f"{path.relative_to(PACKAGE)} imports layer(s) {bad} below {layer}"


def test_numerics_do_not_import_plotting_or_cli():
    for layer in ORDER[:5]:
        for path in (PACKAGE / layer).rglob("*.py"):
            text = path.read_text()
            for mod in ("matplotlib", "typer", "rich", "dask"):
                assert f"import {mod}" not in text and f"from {mod}" not in text, (
                    f"{path.relative_to(PACKAGE)} imports {mod}")


def test_import_hdeq_is_light():
    code = ("import sys, hdeq; heavy = [m for m in ('matplotlib', 'dask', 'torch', 'typer') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
