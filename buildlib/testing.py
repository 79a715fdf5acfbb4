"""build.py test: ruff, then pytest on Python 3.13 and, for the tests of shipped code, on Python 3.9 at once.

Both runs spread their tests over the machine's cores (pytest-xdist), print their slowest tests, and the
whole ends with its wall and CPU time. --quick is the edit-test loop: the tests not marked slow
(tests/conftest.py: SLOW_FIXTURES and @pytest.mark.slow), on Python 3.13 only.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from buildlib import ROOT, step

SLOWEST = ["--durations=10"]  # each run ends with its slowest 10 tests


def workers() -> list[str]:
    """pytest-xdist's workers for one run: one per core, at least 2 (the tests wait on sockets and subprocesses
    as much as they compute, so 2 workers beat 1 even on one core), at most 4."""
    return ["-n", str(min(max(os.cpu_count() or 1, 2), 4))]


def _cpu_seconds() -> float:
    """User and system time of the finished child processes (and theirs): the work, whatever else the machine does."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def run(python: Path, python39: Path | None, pytest_args: list[str], quick: bool) -> int:
    start, cpu_start = time.monotonic(), _cpu_seconds()
    step("ruff check")
    lint = subprocess.run([str(python), "-m", "ruff", "check", str(ROOT)], cwd=ROOT)
    selection = ["-m", "not slow"] if quick else []
    # Both runs at once: the 3.9 one (tests of shipped code only, tests/conftest.py TOOLS_ONLY) waits on the same
    # kind of sockets and subprocesses as the other. Its output follows the 3.13 run's.
    older = None
    if quick:
        print("==> --quick: the tests not marked slow, on Python 3.13 only (the full run: python3 build.py test)")
    elif python39 is None:
        print("==> no Python 3.9 found (pyenv install 3.9, or CLOUDTRAIL_FIREHOSE_PYTHON39): "
              "the shipped code is tested on Python 3.13 only")  # fmt: skip
    else:
        step("pytest on Python 3.9 (Splunk 9.4 and 10.0), in the background: its output follows the 3.13 run's")
        log = tempfile.TemporaryFile("w+", encoding="utf-8")
        command = [str(python39), "-m", "pytest", "-p", "no:cacheprovider", *workers(), *SLOWEST, *pytest_args]
        older = (subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log)
    step("pytest on Python 3.13 (Splunk 10.2 and later)" + (", quick" if quick else ""))
    tests = subprocess.run([str(python), "-m", "pytest", *workers(), *SLOWEST, *selection, *pytest_args], cwd=ROOT)
    failed = lint.returncode or tests.returncode
    if older is not None:
        process, log = older
        process.wait()
        log.seek(0)
        step("pytest on Python 3.9 (Splunk 9.4 and 10.0)")
        sys.stdout.write(log.read())
        log.close()
        failed = failed or process.returncode
    if lint.returncode:
        print("FAILED: ruff found problems (listed above)")
    runs = "Python 3.13, quick" if quick else ("Python 3.13" + ("" if python39 is None else " and 3.9"))
    print(f"==> build.py test{' --quick' if quick else ''} ({runs}): {_minutes(time.monotonic() - start)} wall, "
          f"{_minutes(_cpu_seconds() - cpu_start)} CPU (user + system of every test process)", flush=True)
    return failed
