"""The virtual environments build.py makes and the system packages it installs (Debian, as root)."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from buildlib import REQUIREMENTS, ROOT, VENV, BuildError, run, step

CHECKOV_VENV = VENV / "tools" / "checkov"
PYTHON_VERSION = (3, 13)  # Splunk 10.2 and later; the build and test tools run on it
# Splunk 9.4 and 10.0 run app scripts on Python 3.9 (they ignore python.required): the tests that exercise
# shipped code run on it too, in .venv/py39 (requirements/test39.txt).
OLDEST_PYTHON = (3, 9)
PYTHON_ENV_VARS = {PYTHON_VERSION: "CLOUDTRAIL_FIREHOSE_PYTHON", OLDEST_PYTHON: "CLOUDTRAIL_FIREHOSE_PYTHON39"}
VENV39 = VENV / "py39"



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



def ensure_venv39() -> Path | None:
    """.venv/py39: Python 3.9 with the runtime libraries and what the shipped code's tests need; None without 3.9."""
    if find_python(OLDEST_PYTHON) is None:
        return None
    return _ensure_environment(VENV39, ("test39.txt", "runtime.txt"), "the Python 3.9 test tools", OLDEST_PYTHON)


