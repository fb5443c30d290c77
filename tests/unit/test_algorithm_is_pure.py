"""algorithm/engine must not import Django: it is tested without a database and
runs the same in the CLI, the API and the wizard."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "algorithm" / "engine"


def test_algorithm_package_imports_without_django() -> None:
    code = (
        "import sys\n"
        "import algorithm.engine, algorithm.engine.facts, algorithm.engine.rules, algorithm.engine.engine\n"
        "import algorithm.engine.evidence\n"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_module_of_the_package_names_django_in_an_import() -> None:
    offenders = []
    assert len(list(PACKAGE.glob("*.py"))) >= 4, f"no engine modules found in {PACKAGE}"
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "django"]

    assert offenders == []
