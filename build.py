#!/usr/bin/env python3
"""Build, inspect and test the CloudTrail via Firehose Splunk app.

    python3 build.py           package dist/cloudtrail_firehose-<version>.spl (the full app) and
                               dist/cloudtrail_firehose_hec-<version>.spl (the HEC tier), and
                               run AppInspect on each
    python3 build.py test      ruff, then the test suite on Python 3.13 and, for the tests of shipped
                               code, on Python 3.9 too, both at once and each on every core; it ends
                               with the slowest tests and the time taken; extra arguments go to
                               pytest, e.g. python3 build.py test -k logging
    python3 build.py test --quick
                               the edit-test loop (under a minute): the tests not marked slow, on
                               Python 3.13 only
    python3 build.py generate  rewrite the committed files generated from the code (buildlib/generated.py)

Needs only the standard library: it creates .venv (Python 3.13, the build and test tools) from the
pinned requirements/dev.txt and .venv/py39 (Python 3.9) from requirements/test39.txt, and reuses
them while those pins are unchanged. Each job lives in buildlib/: environment, vendoring, packaging,
tiers, appinspect, generated, testing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from buildlib import APP_ID, DIST_DIR, ROOT, BuildError, appinspect, environment, packaging, testing


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


def test(pytest_args: list[str], quick: bool) -> int:
    python = environment.ensure_venv()
    os.environ["CLOUDTRAIL_FIREHOSE_CHECKOV"] = str(environment.ensure_checkov())
    environment.ensure_chromium()
    return testing.run(python, None if quick else environment.ensure_venv39(), pytest_args, quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("build", "test", "generate"), default="build")
    parser.add_argument("--quick", action="store_true", help="test: the tests not marked slow, on Python 3.13 only")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "test":
            return test(rest, quick=args.quick)
        if rest or args.quick:
            parser.error(f"unexpected arguments: {rest + ['--quick'] * args.quick}")
        return generate() if args.command == "generate" else build()
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"build.py: command failed ({error.returncode}): {' '.join(map(str, error.cmd))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
