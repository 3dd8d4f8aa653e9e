"""The view models are plain Python: nothing under appliance/ui/viewmodels imports kivy."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import appliance.ui.viewmodels as package

ROOT = Path(package.__file__).parent


def test_no_view_model_module_imports_kivy() -> None:
    modules = sorted(ROOT.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
                names = [getattr(a, "value", "") for a in node.args[:1]]
            bad = [n for n in names if n == "kivy" or n.startswith("kivy.")]
            assert not bad, f"{path.name} imports {bad}"


def test_importing_every_view_model_loads_no_kivy() -> None:
    # In a fresh interpreter: the Kivy layer's own tests may have loaded kivy in this one.
    names = [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules([str(ROOT)])]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kivy'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
