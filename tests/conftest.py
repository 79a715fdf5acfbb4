from __future__ import annotations

import sys
import tarfile
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
