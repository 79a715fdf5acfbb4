"""Subprocesses whose time.sleep does not wait but is counted (tests/standins/no_wait/sitecustomize.py)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_WAIT = ROOT / "tests" / "standins" / "no_wait"


def no_wait_env(log: Path) -> dict[str, str]:
    """Environment entries for a subprocess running the app's code: its waits go to log instead of the clock."""
    return {"PYTHONPATH": os.pathsep.join([str(NO_WAIT), str(ROOT / "package")]), "NO_WAIT_LOG": str(log)}


def waits(log: Path) -> list[float]:
    """The seconds each wait asked for, in order."""
    return [float(line) for line in log.read_text(encoding="utf-8").split()] if log.exists() else []
