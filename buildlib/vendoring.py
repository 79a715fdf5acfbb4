"""The runtime libraries shipped in lib/: installed from requirements/runtime.txt, trimmed to what runs,
licences kept, and botocore patched for Splunk Cloud."""

from __future__ import annotations

import ast
import gzip
import hashlib
import importlib.util
import json
import re
import shutil
from pathlib import Path

from buildlib import BUILD_DIR, PACKAGE_SRC, REQUIREMENTS, BuildError, excluded, run, step

# Parts of the vendored libraries that never run in this app: code for libraries it does not ship
# (awscrt, docutils, pydantic/langchain, PyOpenSSL, PySocks, h2, Pyodide, Windows) and features it
# does not use. tests/packaging/test_build.py imports every module that does ship, from the built app.
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




def _services_module():
    path = PACKAGE_SRC / "aws" / "services.py"
    spec = importlib.util.spec_from_file_location("_shipped_services", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shipped_services() -> tuple[str, ...]:
    """The AWS services whose API models ship, from the app's own list (no package import)."""
    return tuple(_services_module().SHIPPED_SERVICES)


def operations_only() -> dict[str, tuple[str, ...]]:
    """The services whose models ship cut to the operations the app calls (aws/services.py, OPERATIONS_ONLY)."""
    return dict(getattr(_services_module(), "OPERATIONS_ONLY", {}))


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


def copy_runtime_libraries(source: Path, lib: Path, services: tuple[str, ...],
                           operations: dict[str, tuple[str, ...]] | None = None) -> None:  # fmt: skip
    """Copy the installed libraries into lib/, keeping only the AWS services the app uses."""
    for entry in sorted(source.iterdir()):
        if entry.name in ("bin", ".complete") or entry.name.startswith("."):
            continue  # console scripts and bookkeeping do not belong in a Splunk app
        if entry.is_dir():
            shutil.copytree(entry, lib / entry.name, ignore=excluded)
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
    for service, kept in (operations or {}).items():
        cut_to_operations(lib / "botocore" / "data" / service, kept)
        shutil.rmtree(lib / "boto3" / "data" / service, ignore_errors=True)  # resources: the app makes clients only


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


def cut_to_operations(service_dir: Path, operations: tuple[str, ...]) -> None:
    """A service's model cut to these operations: the newest API version only (the one a client uses unless
    asked for another), its operations, the shapes they reach, their paginators and waiters."""
    versions = sorted(p for p in service_dir.iterdir() if p.is_dir())
    if not versions:
        raise BuildError(f"{service_dir} holds no API version: has botocore's layout changed?")
    for old in versions[:-1]:
        shutil.rmtree(old)
    folder = versions[-1]
    model = folder / "service-2.json.gz"
    document = json.loads(gzip.decompress(model.read_bytes()))
    missing = [o for o in operations if o not in document["operations"]]
    if missing:
        raise BuildError(f"{service_dir.name} has no operation {missing}: fix OPERATIONS_ONLY in aws/services.py")
    document["operations"] = {o: document["operations"][o] for o in operations}
    shapes: set[str] = set()
    todo = [ref["shape"] for op in document["operations"].values()
            for ref in [op.get("input"), op.get("output"), *op.get("errors", [])] if ref]  # fmt: skip
    while todo:
        name = todo.pop()
        if name in shapes:
            continue
        shapes.add(name)
        shape = document["shapes"][name]
        todo += [shape[key]["shape"] for key in ("member", "key", "value") if key in shape]
        todo += [member["shape"] for member in shape.get("members", {}).values()]
    document["shapes"] = {name: document["shapes"][name] for name in sorted(shapes)}
    model.write_bytes(gzip.compress(json.dumps(document, separators=(",", ":")).encode(), 9, mtime=0))
    paginators = folder / "paginators-1.json"
    if paginators.exists():
        pages = json.loads(paginators.read_text())["pagination"]
        paginators.write_text(json.dumps({"pagination": {o: pages[o] for o in operations if o in pages}}))
    (folder / "paginators-1.sdk-extras.json").unlink(missing_ok=True)  # extras for operations not kept
    waiters = folder / "waiters-2.json"
    if waiters.exists():
        document = json.loads(waiters.read_text())
        document["waiters"] = {n: w for n, w in document["waiters"].items() if w["operation"] in operations}
        waiters.write_text(json.dumps(document))


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
            "version, update BOTOCORE_CSM_PATCH in buildlib/vendoring.py, and run the tests."
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


