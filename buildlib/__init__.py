"""What build.py is made of: one module per job (environment, vendoring, packaging, tiers, AppInspect,
generated files). Standard library only: build.py runs on any python3 before any virtual environment exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "cloudtrail_firehose"
VENV = ROOT / ".venv"
BUILD_DIR = ROOT / "build"
DIST_DIR = ROOT / "dist"
REQUIREMENTS = ROOT / "requirements"
PACKAGE_SRC = ROOT / "package" / APP_ID
EXCLUDED_NAMES = ("__pycache__", "*.pyc", "*.pyo", ".DS_Store", "local", "local.meta")


class BuildError(Exception):
    """A build step failed; the message says what to do."""


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(cmd: list[str | Path]) -> None:
    """Run a tool quietly; show its output only when it fails."""
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if result.returncode:
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
        raise subprocess.CalledProcessError(result.returncode, result.args)




def excluded(directory: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore: caches and local configuration never ship."""
    ignored = set()
    for pattern in EXCLUDED_NAMES:
        ignored.update(n for n in names if Path(n).match(pattern))
    return ignored
