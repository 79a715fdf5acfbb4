"""The package's layers, from the bottom: the shared top-level modules (the settings schema, access modes,
log, errors, outbound_http with urls and masking, certificates) and the sources' units (sources/, data that
every layer reads); then aws/, splunk/ and firehose/ side by
side; then inputs/; then setup/ and the command line (__main__) on top. Imports run downwards only, never
between aws/ and splunk/ (the upper layers combine the two: they read the stored access from splunkd and
make the AWS session from it), and the import graph has no cycle. The modular inputs run without the
setup handler, and the command line's AWS driver without any Splunk code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "package" / "cloudtrail_firehose"
NAME = "cloudtrail_firehose"
# Layer of each part: a module of a lower layer never imports one of a higher layer.
LAYERS = {"": 0, "sources": 0, "aws": 1, "splunk": 1, "firehose": 1, "inputs": 2, "setup": 3, "__main__": 3}
APART = ({"aws", "splunk"}, {"setup", "__main__"})  # side by side: neither imports the other


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (in functions too), relative imports resolved against its package."""
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


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (names imported from a module count as the module)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imported_modules(path) if m in modules and m != name} for name, path in modules.items()}


def part(module: str) -> str:
    """aws, splunk, firehose, inputs, setup, __main__, or "" for the top-level shared modules."""
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    return parts[1] if (PACKAGE / parts[1]).is_dir() or parts[1] == "__main__" else ""


def wrong_arrows(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imported in sorted(graph.items()):
        for target in sorted(imported):
            here, there = part(module), part(target)
            if LAYERS[there] > LAYERS[here] or (here != there and {here, there} in APART):
                wrong.append(f"{module} -> {target}")
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle found by a depth-first walk (one per back edge)."""
    found, state = [], {}

    def walk(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                walk(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    return found


def loaded_after_importing(*modules: str) -> list[str]:
    """The package's modules that importing these really loads, in a fresh interpreter."""
    code = (f"import sys; import {', '.join(modules)}; "
            f"print('\\n'.join(sorted(m for m in sys.modules if m.startswith('{NAME}.'))))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(ROOT / "package"), "PATH": ""}, timeout=120)  # fmt: skip
    return result.stdout.split()


def test_imports_run_down_the_layers_and_never_between_aws_and_splunk():
    assert wrong_arrows(import_graph()) == []


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_the_layer_checks_find_what_they_look_for():
    """The graph holds the arrows the code has; an arrow up, one across and a cycle are each found."""
    graph = import_graph()
    assert "cloudtrail_firehose.splunk.stored_access" in graph["cloudtrail_firehose.inputs.recovery_input"]
    assert "cloudtrail_firehose.certificates" in graph["cloudtrail_firehose.aws.preflight"]
    assert "cloudtrail_firehose.setup.jobs" in graph["cloudtrail_firehose.setup.handler"]
    assert len(graph) > 40
    assert wrong_arrows({"cloudtrail_firehose.splunk.hec_check": {"cloudtrail_firehose.aws.pipeline"},
                         "cloudtrail_firehose.access": {"cloudtrail_firehose.splunk.app_config"},
                         "cloudtrail_firehose.inputs.health": {"cloudtrail_firehose.setup.jobs"},
                         "cloudtrail_firehose.aws.clients": {"cloudtrail_firehose.firehose.records"}}) == [
        "cloudtrail_firehose.access -> cloudtrail_firehose.splunk.app_config",
        "cloudtrail_firehose.inputs.health -> cloudtrail_firehose.setup.jobs",
        "cloudtrail_firehose.splunk.hec_check -> cloudtrail_firehose.aws.pipeline"]  # fmt: skip
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


@pytest.mark.slow
def test_nothing_outside_setup_imports_setup():
    outside = [p for p in PACKAGE.rglob("*.py") if "setup" not in p.relative_to(PACKAGE).parts]
    outside += [ROOT / "bin" / "firehose_recovery.py", ROOT / "bin" / "firehose_health.py"]
    assert len(outside) > 10
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.startswith(f"{NAME}.setup"))
                 for p in outside}  # fmt: skip
    assert {path: found for path, found in offenders.items() if found} == {}


def test_running_an_input_loads_no_setup_module():
    """The transitive check: what importing the inputs really loads, as Splunk would."""
    loaded = loaded_after_importing(f"{NAME}.inputs.recovery_input", f"{NAME}.inputs.health_input")
    assert f"{NAME}.inputs.recovery_input" in loaded
    assert [m for m in loaded if m.startswith(f"{NAME}.setup")] == []


@pytest.mark.parametrize(("side", "other"), [("aws", "splunk"), ("splunk", "aws")])
def test_each_side_loads_without_the_other(side, other):
    """The command line's AWS driver (aws.pipeline) loads no Splunk code, and the Splunk side no AWS code."""
    modules = sorted(module_name(p) for p in (PACKAGE / side).glob("*.py"))
    loaded = loaded_after_importing(*modules)
    assert f"{NAME}.{side}.{'pipeline' if side == 'aws' else 'stored_access'}" in loaded
    assert [m for m in loaded if m.startswith(f"{NAME}.{other}")] == []
