"""A clock that does not wait, for a command or input run as a subprocess: put this folder on its PYTHONPATH.

With NO_WAIT_LOG set, time.sleep returns at once and appends the seconds asked for to that file, one a line.
A test of what a user sees when AWS cannot be reached then checks that botocore retried as the app's client
config says (standard mode, 8 retries, each backoff a wait) without waiting out the backoffs (~45 s).
"""

from __future__ import annotations

import os
import time

_LOG = os.environ.get("NO_WAIT_LOG")

if _LOG:

    def _record(seconds: float) -> None:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{seconds}\n")

    time.sleep = _record
