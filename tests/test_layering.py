"""The package's layers: setup/ sits on top, nothing below imports it (the modular inputs least of all,
they run without the setup handler)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "package" / "cloudtrail_firehose"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1]) if path.is_relative_to(PACKAGE) else ""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imports_setup(path: Path) -> list[str]:
    return sorted(m for m in imported_modules(path) if m == "cloudtrail_firehose.setup"
                  or m.startswith("cloudtrail_firehose.setup."))  # fmt: skip


@pytest.mark.slow
def test_nothing_outside_setup_imports_setup():
    outside = [p for p in PACKAGE.rglob("*.py") if "setup" not in p.relative_to(PACKAGE).parts]
    outside += [ROOT / "bin" / "firehose_recovery.py", ROOT / "bin" / "firehose_health.py"]
    assert len(outside) > 10
    offenders = {str(p.relative_to(ROOT)): imports_setup(p) for p in outside if imports_setup(p)}
    assert offenders == {}


def test_the_import_check_finds_imports_of_setup_where_they_are():
    assert "cloudtrail_firehose.access" in imported_modules(PACKAGE / "inputs" / "recovery_input.py")
    assert "cloudtrail_firehose.setup.jobs" in imports_setup(PACKAGE / "setup" / "handler.py")


def test_running_an_input_loads_no_setup_module():
    """The transitive check: what importing the inputs really loads, as Splunk would."""
    code = ("import sys, cloudtrail_firehose.inputs.recovery_input, cloudtrail_firehose.inputs.health_input; "
            "print(sorted(m for m in sys.modules if m.startswith('cloudtrail_firehose.setup')))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(ROOT / "package"), "PATH": ""}, timeout=120)  # fmt: skip
    assert result.stdout.strip() == "[]"
