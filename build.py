#!/usr/bin/env python3
"""Build, inspect and test the CloudTrail via Firehose Splunk app.

    python3 build.py           package dist/cloudtrail_firehose-<version>.spl (the full app) and
                               dist/cloudtrail_firehose_hec-<version>.spl (the HEC tier), and
                               run AppInspect on each
    python3 build.py test      ruff, then the test suite on Python 3.13 and, for the tests of shipped
                               code, on Python 3.9 too; extra arguments go to pytest, e.g.
                               python3 build.py test -k logging

Needs only the standard library: it creates .venv (Python 3.13, the build and test tools) from the
pinned requirements/dev.txt and .venv/py39 (Python 3.9) from requirements/test39.txt, and reuses
them while those pins are unchanged.
"""

from __future__ import annotations

import argparse
import ast
import glob
import gzip
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import build_tiers

ROOT = Path(__file__).resolve().parent
APP_ID = "cloudtrail_firehose"
VENV = ROOT / ".venv"
CHECKOV_VENV = VENV / "tools" / "checkov"
BUILD_DIR = ROOT / "build"
DIST_DIR = ROOT / "dist"
REQUIREMENTS = ROOT / "requirements"
PACKAGE_SRC = ROOT / "package" / APP_ID

# What goes into the .spl, besides lib/. Never tests, bench, docs, build scripts or caches.
APP_CONTENT = (
    "app.manifest",
    "LICENSE.txt",
    "default",
    "metadata",
    "README",
    "lookups",
    "appserver",
    "static",
    "bin",
)
EXCLUDED_NAMES = ("__pycache__", "*.pyc", "*.pyo", ".DS_Store", "local", "local.meta")
MAX_SPL_BYTES = 1536 * 1024
# Parts of the vendored libraries that never run in this app: code for libraries it does not ship
# (awscrt, docutils, pydantic/langchain, PyOpenSSL, PySocks, h2, Pyodide, Windows) and features it
# does not use. tests/test_build.py imports every module that does ship, from the built app.
UNUSED_LIBRARY_PARTS = (
    "splunklib/searchcommands",  # custom search commands: the app defines none
    "splunklib/results.py",  # search-result readers; imports deprecation, which is not shipped
    "boto3/crt.py", "botocore/crt/auth.py", "s3transfer/crt.py",  # awscrt
    "botocore/docs/translator.py",  # docutils
    "dateutil/tz/win.py", "dateutil/tzwin.py",  # Windows registry time zones
    "dateutil/zoneinfo/dateutil-zoneinfo.tar.gz",  # a copy of the tz database: the system's is used first
    "urllib3/contrib/pyopenssl.py", "urllib3/contrib/socks.py", "urllib3/contrib/ntlmpool.py",
    "urllib3/contrib/appengine.py",  # Google App Engine's urlfetch
    "urllib3/contrib/securetransport.py", "urllib3/contrib/_securetransport",  # macOS Security framework
    "certifi/__main__.py", "certifi/tests",  # `python -m certifi` and its own tests: only where() is used
)  # fmt: skip
# Package metadata nothing reads, but for splunklib (importlib.metadata.version("splunk-sdk") in
# binding.py); the license and notice files of every distribution stay, in lib/licenses/<name>/.
KEPT_DIST_INFO = ("splunk_sdk",)
# Distributions whose archive carries no licence file -> (their licence, a shipped distribution whose
# LICENSE is that licence's verbatim text). splunk-sdk 2.1.1's source archive names Apache 2.0 only by URL.
LICENSE_TEXT_FROM = {"splunk_sdk": ("Apache License 2.0", "boto3")}
PYTHON_VERSION = (3, 13)  # Splunk 10.2 and later; the build and test tools run on it
# Splunk 9.4 and 10.0 run app scripts on Python 3.9 (they ignore python.required): the tests that exercise
# shipped code run on it too, in .venv/py39 (requirements/test39.txt).
OLDEST_PYTHON = (3, 9)
PYTHON_ENV_VARS = {PYTHON_VERSION: "CLOUDTRAIL_FIREHOSE_PYTHON", OLDEST_PYTHON: "CLOUDTRAIL_FIREHOSE_PYTHON39"}
VENV39 = VENV / "py39"

# botocore's client-side monitoring (CSM, off unless AWS_CSM_ENABLED is set) publishes metrics
# over a UDP socket. Splunk Cloud forbids any UDP communication from app code, and AppInspect's
# cloud check check_for_python_udp_network_communications fails the app for the socket call in
# Session._create_csm_monitor. The app never enables CSM, so the build replaces that method with
# one that returns no monitor. The patch is tied to one botocore version: on a bump, read the
# new session.py, confirm the method is unchanged, then update the version here.
BOTOCORE_CSM_PATCH = {
    "version": "1.42.97",
    "path": "botocore/session.py",
    "old": """    def _create_csm_monitor(self):
        if self.get_config_variable('csm_enabled'):
            client_id = self.get_config_variable('csm_client_id')
            host = self.get_config_variable('csm_host')
            port = self.get_config_variable('csm_port')
            handler = monitoring.Monitor(
                adapter=monitoring.MonitorEventAdapter(),
                publisher=monitoring.SocketPublisher(
                    socket=socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
                    host=host,
                    port=port,
                    serializer=monitoring.CSMSerializer(
                        csm_client_id=client_id
                    ),
                ),
            )
            return handler
        return None
""",
    "new": """    def _create_csm_monitor(self):
        # Patched by cloudtrail_firehose's build.py: client-side monitoring sends UDP
        # datagrams, which Splunk Cloud forbids. CSM stays off whatever the configuration says.
        return None
""",
}


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


# --- virtual environment -------------------------------------------------------------------


def _is_python(executable: str, version: tuple[int, int]) -> bool:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys, venv; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == str(version)


def find_python(version: tuple[int, int] = PYTHON_VERSION) -> str | None:
    """An interpreter of this version: the one its environment variable names, on the PATH, or under pyenv."""
    name = "python{}.{}".format(*version)
    home = Path.home()
    candidates = [
        os.environ.get(PYTHON_ENV_VARS[version]),
        sys.executable if sys.version_info[:2] == version else None,
        shutil.which(name),
        *sorted(glob.glob(str(home / f".pyenv/versions/{version[0]}.{version[1]}*/bin/{name}")), reverse=True),
        f"/usr/bin/{name}",
        f"/usr/local/bin/{name}",
    ]
    return next((c for c in candidates if c and _is_python(c, version)), None)


def find_python313() -> str:
    """Splunk's Python of 10.2 and later, needed to build lib/ and run the build and test tools."""
    found = find_python(PYTHON_VERSION)
    if found:
        return found
    raise BuildError(
        "Python 3.13 (the runtime Splunk 10.2 and later give this app) was not found. Install it "
        "(for example 'apt-get install python3.13' or 'pyenv install 3.13'), or point "
        "CLOUDTRAIL_FIREHOSE_PYTHON at a python3.13 executable."
    )


def _requirements_digest(*names: str) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update((REQUIREMENTS / name).read_bytes())
    return digest.hexdigest()


def _ensure_environment(venv: Path, requirements: tuple[str, ...], what: str,
                        version: tuple[int, int] = PYTHON_VERSION) -> Path:  # fmt: skip
    """Create or reuse a virtual environment of this Python version holding these pinned requirements."""
    stamp = venv / ".requirements.sha256"
    digest = _requirements_digest(*requirements)
    python = venv / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    if not (python.exists() and _is_python(str(python), version)):
        interpreter = find_python313() if version == PYTHON_VERSION else find_python(version)
        step(f"creating virtual environment {venv.relative_to(ROOT)} with {interpreter}")
        shutil.rmtree(venv, ignore_errors=True)
        run([interpreter, "-m", "venv", venv])
    step(f"installing {what} into {venv.relative_to(ROOT)} (requirements/{requirements[0]}); this takes a minute")
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "--upgrade", "pip"])
    run([*pip, "install", "--quiet", "-r", REQUIREMENTS / requirements[0]])
    stamp.write_text(digest + "\n")
    return python


def ensure_venv() -> Path:
    """.venv: the pinned build and test tools, and the app's runtime libraries."""
    return _ensure_environment(VENV, ("dev.txt", "runtime.txt"), "pinned build and test tools")


def ensure_chromium() -> str:
    """The setup page is tested in Debian's chromium (no browser download); install it when missing."""
    found = shutil.which("chromium")
    if found:
        return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        step("installing Debian's chromium for the setup page tests (apt-get install chromium)")
        os.environ.setdefault("DEBIAN_FRONTEND", "noninteractive")
        run(["apt-get", "update", "-q"])
        run(["apt-get", "install", "-y", "-q", "chromium"])
        if shutil.which("chromium"):
            return shutil.which("chromium")
    raise BuildError("the setup page tests need Chromium: install it (Debian: apt-get install chromium) and retry")


def ensure_libmagic() -> None:
    """AppInspect identifies file types with the C library libmagic (python-magic loads it)."""
    import ctypes.util

    if ctypes.util.find_library("magic"):
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        step("installing Debian's libmagic1 for AppInspect (apt-get install libmagic1)")
        os.environ.setdefault("DEBIAN_FRONTEND", "noninteractive")
        run(["apt-get", "update", "-q"])
        run(["apt-get", "install", "-y", "-q", "libmagic1"])
        if ctypes.util.find_library("magic"):
            return
    raise BuildError("AppInspect needs libmagic: install it (Debian: apt-get install libmagic1) and retry")


def ensure_checkov() -> Path:
    """checkov pins libraries that clash with the app's, so it lives in a virtual environment of its own."""
    python = _ensure_environment(CHECKOV_VENV, ("checkov.txt",), "checkov")
    return python.parent / "checkov"


# --- app version -----------------------------------------------------------------------------


def app_version(root: Path = ROOT) -> str:
    """The version, from default/app.conf; app.manifest must agree."""
    conf = (root / "default" / "app.conf").read_text(encoding="utf-8")
    versions = set(re.findall(r"^version\s*=\s*(\S+)\s*$", conf, flags=re.M))
    manifest = json.loads((root / "app.manifest").read_text(encoding="utf-8"))
    versions.add(manifest["info"]["id"]["version"])
    if len(versions) != 1:
        raise BuildError(
            f"versions disagree: {sorted(versions)}. Set the same version in default/app.conf "
            "([launcher] and [id]) and app.manifest (info.id.version)."
        )
    return versions.pop()


# --- runtime libraries -----------------------------------------------------------------------


def shipped_services() -> tuple[str, ...]:
    """The AWS services whose API models ship, from the app's own list (no package import)."""
    path = PACKAGE_SRC / "aws" / "services.py"
    spec = importlib.util.spec_from_file_location("_shipped_services", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.SHIPPED_SERVICES)


def install_runtime_libraries(python: Path) -> Path:
    """pip-install requirements/runtime.txt once per pin set into build/.runtime-<digest>/."""
    requirements = REQUIREMENTS / "runtime.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    target = BUILD_DIR / f".runtime-{digest}"
    if (target / ".complete").exists():
        return target
    step("installing pinned runtime libraries (requirements/runtime.txt)")
    shutil.rmtree(target, ignore_errors=True)
    run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-compile", "--only-binary=:all:", "--no-binary=splunk-sdk",  # 2.1.1: a source archive only
         "--target", target, "-r", requirements]
    )  # fmt: skip
    (target / ".complete").write_text("")
    return target


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set()
    for pattern in EXCLUDED_NAMES:
        ignored.update(n for n in names if Path(n).match(pattern))
    return ignored


def copy_runtime_libraries(source: Path, lib: Path, services: tuple[str, ...]) -> None:
    """Copy the installed libraries into lib/, keeping only the AWS services the app uses."""
    for entry in sorted(source.iterdir()):
        if entry.name in ("bin", ".complete") or entry.name.startswith("."):
            continue  # console scripts and bookkeeping do not belong in a Splunk app
        if entry.is_dir():
            shutil.copytree(entry, lib / entry.name, ignore=_ignore)
        else:
            shutil.copy2(entry, lib / entry.name)
    for dist_info in sorted(lib.glob("*.dist-info")):
        distribution = dist_info.name.split("-")[0]
        for notice in dist_info.rglob("*"):
            if notice.is_file() and notice.name.upper().startswith(("LICENSE", "NOTICE", "COPYING")):
                (lib / "licenses" / distribution).mkdir(parents=True, exist_ok=True)
                shutil.copy2(notice, lib / "licenses" / distribution / notice.name)
        if distribution in LICENSE_TEXT_FROM and not (lib / "licenses" / distribution).exists():
            licence, donor = LICENSE_TEXT_FROM[distribution]
            [text] = source.glob(f"{donor}-*.dist-info/LICENSE")
            (lib / "licenses" / distribution).mkdir(parents=True)
            (lib / "licenses" / distribution / "LICENSE").write_text(
                f"{dist_info.name.removesuffix('.dist-info')} is licensed under the {licence}:\n\n"
                + text.read_text(encoding="utf-8"), encoding="utf-8")  # fmt: skip
        if distribution in KEPT_DIST_INFO:
            for name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                (dist_info / name).unlink(missing_ok=True)
        else:
            shutil.rmtree(dist_info)
    for part in UNUSED_LIBRARY_PARTS:
        path = lib / part
        if not path.exists():
            raise BuildError(f"lib/{part} is missing: a library's layout changed; update UNUSED_LIBRARY_PARTS")
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    trim_service_data(lib / "botocore" / "data", services)
    trim_service_data(lib / "boto3" / "data", services)


def trim_service_data(data_dir: Path, services: tuple[str, ...]) -> None:
    """Drop the API models of services the app does not use, and their documentation examples."""
    if not data_dir.is_dir():
        raise BuildError(f"{data_dir} is missing: has botocore's layout changed?")
    present = {p.name for p in data_dir.iterdir() if p.is_dir()}
    missing = [s for s in services if s not in present and data_dir.parent.name == "botocore"]
    if missing:
        raise BuildError(f"botocore has no service named {missing}: fix aws/services.py")
    for path in data_dir.iterdir():
        if path.is_dir() and path.name not in services:
            shutil.rmtree(path)
    for examples in data_dir.glob("*/*/examples-1.json"):
        examples.unlink()
    for model in data_dir.glob("*/*/service-2.json.gz"):
        strip_documentation(model)


def _without_documentation(node: object) -> object:
    if isinstance(node, dict):
        return {k: _without_documentation(v) for k, v in node.items() if k not in ("documentation", "documentationUrl")}
    if isinstance(node, list):
        return [_without_documentation(v) for v in node]
    return node


def strip_documentation(model: Path) -> None:
    """An API model without its documentation strings (about 85% of it): only help() and docstrings read them."""
    document = json.loads(gzip.decompress(model.read_bytes()))
    text = json.dumps(_without_documentation(document), separators=(",", ":")).encode()
    model.write_bytes(gzip.compress(text, 9, mtime=0))


def patch_botocore(lib: Path) -> None:
    """Remove botocore's UDP client-side-monitoring path (see BOTOCORE_CSM_PATCH)."""
    version = _botocore_version(lib)
    if version != BOTOCORE_CSM_PATCH["version"]:
        raise BuildError(
            f"botocore {version} is pinned, but the UDP patch was written for "
            f"{BOTOCORE_CSM_PATCH['version']}. Read {BOTOCORE_CSM_PATCH['path']} of the new "
            "version, update BOTOCORE_CSM_PATCH in build.py, and run the tests."
        )
    path = lib / BOTOCORE_CSM_PATCH["path"]
    source = path.read_text(encoding="utf-8")
    if source.count(BOTOCORE_CSM_PATCH["old"]) != 1:
        raise BuildError(f"{path}: the client-side-monitoring code to patch was not found")
    path.write_text(source.replace(BOTOCORE_CSM_PATCH["old"], BOTOCORE_CSM_PATCH["new"]))
    offenders = udp_socket_calls(lib)
    if offenders:
        raise BuildError(f"UDP socket code is left in lib/: {offenders}")


def _botocore_version(lib: Path) -> str:
    init = (lib / "botocore" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", init, flags=re.M)
    if not match:
        raise BuildError("cannot read botocore's version from botocore/__init__.py")
    return match.group(1)


def udp_socket_calls(tree: Path) -> list[str]:
    """Python files under tree that name socket.SOCK_DGRAM (what AppInspect's UDP check flags)."""
    offenders = []
    for path in sorted(tree.rglob("*.py")):
        try:
            module = ast.parse(path.read_bytes())
        except SyntaxError:
            continue
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "SOCK_DGRAM"
                and isinstance(node.value, ast.Name)
                and node.value.id == "socket"
            ):
                offenders.append(f"{path.relative_to(tree)}:{node.lineno}")
    return offenders


# --- generated from the settings schema ------------------------------------------------------


def write_generated_files() -> list[Path]:
    """README/cloudtrail_firehose.conf.spec and the template's Parameters, from package/.../settings.py."""
    spec = importlib.util.spec_from_file_location("_settings_schema", PACKAGE_SRC / "settings.py")
    schema = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = schema  # dataclasses look their module up there
    spec.loader.exec_module(schema)
    template = PACKAGE_SRC / "aws" / "template.yaml"
    targets = {ROOT / "README" / f"{APP_ID}.conf.spec": schema.conf_spec(),
               template: schema.with_template_parameters(template.read_text(encoding="utf-8"))}  # fmt: skip
    changed = [path for path, text in targets.items() if path.read_text(encoding="utf-8") != text]
    for path in changed:
        path.write_text(targets[path], encoding="utf-8")
        step(f"regenerated {path.relative_to(ROOT)} from the settings schema")
    return changed


# --- assemble and package --------------------------------------------------------------------


def assemble(python: Path, out: Path = BUILD_DIR) -> Path:
    """Lay out the app in out/cloudtrail_firehose, ready to package."""
    app = out / APP_ID
    step(f"assembling the app in {app.relative_to(ROOT) if app.is_relative_to(ROOT) else app}")
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir(parents=True)
    for name in APP_CONTENT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, app / name, ignore=_ignore)
        elif source.is_file():
            shutil.copy2(source, app / name)
    lib = app / "lib"
    shutil.copytree(PACKAGE_SRC, lib / APP_ID, ignore=_ignore)
    copy_runtime_libraries(install_runtime_libraries(python), lib, shipped_services())
    patch_botocore(lib)
    return app


def assemble_hec_tier(out: Path = BUILD_DIR) -> Path:
    """Lay out the HEC-tier package in out/cloudtrail_firehose_hec (see build_tiers.py)."""
    app = out / build_tiers.HEC_APP_ID
    step(f"assembling the HEC-tier package in {app.relative_to(ROOT) if app.is_relative_to(ROOT) else app}")
    shutil.rmtree(app, ignore_errors=True)
    try:
        return build_tiers.assemble_hec_tier(ROOT, out, app_version())
    except build_tiers.TierError as error:
        raise BuildError(str(error)) from error


def package(app: Path, dist: Path = DIST_DIR) -> Path:
    """Write dist/<app>-<version>.spl: a gzipped tar with the app folder at the top."""
    dist.mkdir(parents=True, exist_ok=True)
    spl = dist / f"{app.name}-{app_version()}.spl"

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        # Splunk Cloud rejects world-writable files; owners and modes are the same on every build.
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o755 if info.isdir() else 0o644
        return info

    with tarfile.open(spl, "w:gz") as archive:
        archive.add(app, arcname=app.name, filter=normalise)
    return spl


# --- AppInspect ------------------------------------------------------------------------------


APPINSPECT = VENV / "bin" / "splunk-appinspect"


def enterprise_checks() -> list[str]:
    """AppInspect's options for the HEC-tier package: Splunk Enterprise only, so not the cloud tag."""
    listing = subprocess.run([str(APPINSPECT), "list", "checks", "--included-tags", "splunk_appinspect"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    try:
        names = build_tiers.checks_for_enterprise(listing)
    except build_tiers.TierError as error:
        raise BuildError(str(error)) from error
    return [option for name in names for option in ("--checks", name)]


def run_appinspect(spl: Path, report: Path, selection: list[str], what: str) -> dict:
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


def appinspect_passed(report: dict) -> bool:
    summary = report.get("summary", {})
    return not (summary.get("failure", 0) or summary.get("error", 0) or summary.get("future_failure", 0))


def appinspect_problems(report: dict) -> list[str]:
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


def build() -> int:
    python = ensure_venv()
    version = app_version()
    write_generated_files()
    spl = package(assemble(python))
    hec_spl = package(assemble_hec_tier())
    size = spl.stat().st_size
    if size > MAX_SPL_BYTES:
        raise BuildError(f"{spl.name} is {size / 1024 / 1024:.2f} MB, over the 1.5 MB budget: check lib/")
    ensure_libmagic()
    inspections = (
        (spl, DIST_DIR / "appinspect.json", ["--included-tags", "cloud"], "cloud tag"),
        (hec_spl, DIST_DIR / "appinspect_hec.json", enterprise_checks(),
         "splunk_appinspect checks less the 2 Splunk Cloud HEC stanza rules"),
    )  # fmt: skip
    passed = True
    for archive, report_path, selection, what in inspections:
        report = run_appinspect(archive, report_path, selection, what)
        for problem in appinspect_problems(report):
            print(f"    {problem}")
        counts = ", ".join(f"{key} {value}" for key, value in sorted(report.get("summary", {}).items()))
        print(
            f"{archive.name.removesuffix('.spl')}: {archive.relative_to(ROOT)} "
            f"({archive.stat().st_size / 1024:.1f} KB)\n"
            f"  AppInspect ({what}): {counts}\n  report: {report_path.relative_to(ROOT)}"
        )
        passed = passed and appinspect_passed(report)
    if not passed:
        print("FAILED: AppInspect reported failures, errors or future failures (listed above)")
        return 1
    print(f"{APP_ID} {version}: both packages AppInspect clean")
    return 0


def ensure_venv39() -> Path | None:
    """.venv/py39: Python 3.9 with the runtime libraries and what the shipped code's tests need; None without 3.9."""
    if find_python(OLDEST_PYTHON) is None:
        return None
    return _ensure_environment(VENV39, ("test39.txt", "runtime.txt"), "the Python 3.9 test tools", OLDEST_PYTHON)


def test(pytest_args: list[str]) -> int:
    python = ensure_venv()
    os.environ["CLOUDTRAIL_FIREHOSE_CHECKOV"] = str(ensure_checkov())
    ensure_chromium()
    python39 = ensure_venv39()
    step("ruff check")
    lint = subprocess.run([str(python), "-m", "ruff", "check", str(ROOT)], cwd=ROOT)
    # Both runs at once: the 3.9 one (tests of shipped code only, tests/conftest.py) waits mostly on the
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
    parser.add_argument("command", nargs="?", choices=("build", "test"), default="build")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "test":
            return test(rest)
        if rest:
            parser.error(f"unexpected arguments: {rest}")
        return build()
    except BuildError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"build.py: command failed ({error.returncode}): {' '.join(map(str, error.cmd))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
