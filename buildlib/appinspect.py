"""Splunk AppInspect: run it on a package and read its JSON report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from buildlib import VENV, BuildError, step, tiers

APPINSPECT = VENV / "bin" / "splunk-appinspect"


def enterprise_checks() -> list[str]:
    """AppInspect's options for the HEC-tier package: Splunk Enterprise only, so not the cloud tag."""
    listing = subprocess.run([str(APPINSPECT), "list", "checks", "--included-tags", "splunk_appinspect"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    try:
        names = tiers.checks_for_enterprise(listing)
    except tiers.TierError as error:
        raise BuildError(str(error)) from error
    return [option for name in names for option in ("--checks", name)]


def run(spl: Path, report: Path, selection: list[str], what: str) -> dict:
    step(f"running Splunk AppInspect on {spl.name} ({what}, precert mode); this takes a minute")
    result = subprocess.run(
        [str(APPINSPECT), "inspect", str(spl), "--mode", "precert", *selection,
         "--data-format", "json", "--output-file", str(report)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if not report.exists():
        raise BuildError(f"AppInspect wrote no report:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return json.loads(report.read_text(encoding="utf-8"))


def passed(report: dict) -> bool:
    summary = report.get("summary", {})
    return not (summary.get("failure", 0) or summary.get("error", 0) or summary.get("future_failure", 0))


def problems(report: dict) -> list[str]:
    """One line per check that failed or errored, with its messages."""
    problems = []
    for app_report in report.get("reports", []):
        for group in app_report.get("groups", []):
            for check in group.get("checks", []):
                if check.get("result") in ("failure", "error", "future_failure"):
                    for message in check.get("messages", []) or [{}]:
                        where = message.get("message_filename") or ""
                        line = message.get("message_line")
                        if line:
                            where = f"{where}:{line}"
                        text = " ".join(str(message.get("message", "")).split())[:300]
                        problems.append(f"{check['result']}: {check['name']} {where} {text}".strip())
    return problems


