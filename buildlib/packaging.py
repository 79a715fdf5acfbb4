"""The app laid out in build/ and packed into dist/<app>-<version>.spl."""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from pathlib import Path

from buildlib import APP_ID, BUILD_DIR, DIST_DIR, PACKAGE_SRC, ROOT, BuildError, excluded, step, tiers, vendoring

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
MAX_SPL_BYTES = 1536 * 1024



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




def assemble(python: Path, out: Path = BUILD_DIR) -> Path:
    """Lay out the app in out/cloudtrail_firehose, ready to package."""
    app = out / APP_ID
    step(f"assembling the app in {app.relative_to(ROOT) if app.is_relative_to(ROOT) else app}")
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir(parents=True)
    for name in APP_CONTENT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, app / name, ignore=excluded)
        elif source.is_file():
            shutil.copy2(source, app / name)
    lib = app / "lib"
    shutil.copytree(PACKAGE_SRC, lib / APP_ID, ignore=excluded)
    vendoring.copy_runtime_libraries(vendoring.install_runtime_libraries(python), lib, vendoring.shipped_services(),
                                     vendoring.operations_only())
    vendoring.patch_botocore(lib)
    return app


def assemble_hec_tier(out: Path = BUILD_DIR) -> Path:
    """Lay out the HEC-tier package in out/cloudtrail_firehose_hec (see tiers.py)."""
    app = out / tiers.HEC_APP_ID
    step(f"assembling the HEC-tier package in {app.relative_to(ROOT) if app.is_relative_to(ROOT) else app}")
    shutil.rmtree(app, ignore_errors=True)
    try:
        return tiers.assemble_hec_tier(ROOT, out, app_version())
    except tiers.TierError as error:
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


