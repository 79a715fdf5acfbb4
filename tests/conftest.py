from __future__ import annotations

import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BuiltApp:
    app_dir: Path  # the assembled app folder (build/.../cloudtrail_firehose)
    spl: Path  # the packaged .spl

    def names(self) -> list[str]:
        with tarfile.open(self.spl) as archive:
            return archive.getnames()


@pytest.fixture(scope="session")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    """The app as build.py assembles and packages it (AppInspect is build.py's own job)."""
    import build

    out = tmp_path_factory.mktemp("build")
    app_dir = build.assemble(Path(sys.executable), out=out)
    spl = build.package(app_dir, dist=out / "dist")
    return BuiltApp(app_dir, spl)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def endpoint():
    """moto_server (with the CloudFormation shims) on 127.0.0.1, as AWS_ENDPOINT_URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("moto_server did not start")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)
