#!/usr/bin/env python3
"""Build, inspect and test the CloudTrail via Firehose Splunk app.

    python3 build.py           package dist/cloudtrail_firehose-<version>.spl (the full app) and
                               dist/cloudtrail_firehose_hec-<version>.spl (the HEC tier), and
                               run AppInspect on each
    python3 build.py test      ruff, then the test suite on Python 3.13 and, for the tests of shipped
                               code, on Python 3.9 too; extra arguments go to pytest, e.g.
                               python3 build.py test -k logging
    python3 build.py generate  rewrite the committed files generated from the code (buildlib/generated.py)

Needs only the standard library: it creates .venv (Python 3.13, the build and test tools) from the
pinned requirements/dev.txt and .venv/py39 (Python 3.9) from requirements/test39.txt, and reuses
them while those pins are unchanged. Each job lives in buildlib/: environment, vendoring, packaging,
tiers, appinspect, generated.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from buildlib import APP_ID, DIST_DIR, ROOT, BuildError, appinspect, environment, packaging, step


def generated_files(python: Path, check: bool) -> list[str]:
    """Run buildlib/generated.py in .venv: the files that differ (check) or that it rewrote."""
    result = subprocess.run([str(python), "-m", "buildlib.generated", *(["--check"] if check else [])],
                            cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    if result.returncode and not (check and result.returncode == 1):
        raise BuildError(f"generating files failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout.splitlines()


def generate() -> int:
    lines = generated_files(environment.ensure_venv(), check=False)
    print("\n".join(lines) or "generated files: all current")
    return 0


def build() -> int:
    python = environment.ensure_venv()
    version = packaging.app_version()
    stale = generated_files(python, check=True)
    if stale:
        raise BuildError("generated files differ from what the code generates ("
                         + "; ".join(stale) + "): run 'python3 build.py generate' and review the diff")
    spl = packaging.package(packaging.assemble(python))
    hec_spl = packaging.package(packaging.assemble_hec_tier())
    size = spl.stat().st_size
    if size > packaging.MAX_SPL_BYTES:
        raise BuildError(f"{spl.name} is {size / 1024 / 1024:.2f} MB, over the 1.5 MB budget: check lib/")
    environment.ensure_libmagic()
    inspections = (
        (spl, DIST_DIR / "appinspect.json", ["--included-tags", "cloud"], "cloud tag"),
        (hec_spl, DIST_DIR / "appinspect_hec.json", appinspect.enterprise_checks(),
         "splunk_appinspect checks less the 2 Splunk Cloud HEC stanza rules"),
    )  # fmt: skip
    passed = True
    for archive, report_path, selection, what in inspections:
        report = appinspect.run(archive, report_path, selection, what)
        for problem in appinspect.problems(report):
            print(f"    {problem}")
        counts = ", ".join(f"{key} {value}" for key, value in sorted(report.get("summary", {}).items()))
        print(
            f"{archive.name.removesuffix('.spl')}: {archive.relative_to(ROOT)} "
            f"({archive.stat().st_size / 1024:.1f} KB)\n"
            f"  AppInspect ({what}): {counts}\n  report: {report_path.relative_to(ROOT)}"
        )
        passed = passed and appinspect.passed(report)
    if not passed:
        print("FAILED: AppInspect reported failures, errors or future failures (listed above)")
        return 1
    print(f"{APP_ID} {version}: both packages AppInspect clean")
    return 0


def test(pytest_args: list[str]) -> int:
    python = environment.ensure_venv()
    os.environ["CLOUDTRAIL_FIREHOSE_CHECKOV"] = str(environment.ensure_checkov())
    environment.ensure_chromium()
    python39 = environment.ensure_venv39()
    step("ruff check")
    lint = subprocess.run([str(python), "-m", "ruff", "check", str(ROOT)], cwd=ROOT)
    # Both runs at once: the 3.9 one (tests of shipped code only, tests/setup/conftest.py) waits mostly on the
    # same sockets and subprocesses as the other, and the machine has two cores.
    older = None
    if python39 is None:
        print("==> no Python 3.9 found (pyenv install 3.9, or CLOUDTRAIL_FIREHOSE_PYTHON39): "
              "the shipped code is tested on Python 3.13 only")  # fmt: skip
    else:
        step("pytest on Python 3.9 (Splunk 9.4 and 10.0), in the background: its output follows the 3.13 run's")
        log = tempfile.TemporaryFile("w+", encoding="utf-8")
        older = (subprocess.Popen([str(python39), "-m", "pytest", "-p", "no:cacheprovider", *pytest_args],
                                  cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log)  # fmt: skip
    step("pytest on Python 3.13 (Splunk 10.2 and later)")
    tests = subprocess.run([str(python), "-m", "pytest", *pytest_args], cwd=ROOT)
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
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("build", "test", "generate"), default="build")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "test":
            return test(rest)
        if rest:
            parser.error(f"unexpected arguments: {rest}")
        return generate() if args.command == "generate" else build()
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"build.py: command failed ({error.returncode}): {' '.join(map(str, error.cmd))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
