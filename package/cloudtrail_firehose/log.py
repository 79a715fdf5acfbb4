"""Logging for every component of the app.

Inside Splunk, each component writes its own rotating file,
$SPLUNK_HOME/var/log/splunk/cloudtrail_firehose_<component>.log. Splunk's own monitor of that
folder indexes it into _internal, and the app's props.conf gives it the sourcetype
cloudtrail_firehose:log, so admins can search the app's logs. Outside Splunk (CLI, tests)
the same lines go to stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path

LOG_PREFIX = "cloudtrail_firehose"
MAX_BYTES = 10 * 1024 * 1024
BACKUP_COUNT = 5
# key=value pairs that Splunk extracts on its own; the message follows the "|".
LINE_FORMAT = "%(asctime)s level=%(levelname)s pid=%(process)d component=%(component)s | %(message)s"


class _UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
        return f"{stamp}.{int(record.msecs):03d}+0000"


def log_path(component: str, splunk_home: str | None = None) -> Path | None:
    """Where a component's log file lives, or None outside Splunk."""
    home = splunk_home if splunk_home is not None else os.environ.get("SPLUNK_HOME")
    if not home:
        return None
    return Path(home) / "var" / "log" / "splunk" / f"{LOG_PREFIX}_{component}.log"


def get_logger(component: str, level: int | str = logging.INFO) -> logging.Logger:
    """The logger for one component (setup, recovery, health, cli, ...), configured once."""
    if not component.replace("_", "").isalnum():
        raise ValueError(f"component name must be letters, digits and '_': {component!r}")
    logger = logging.getLogger(f"{LOG_PREFIX}.{component}")
    # Other code (splunklib, test runners) may attach handlers too: look for ours only.
    if any(getattr(h, "_cloudtrail_firehose", False) for h in logger.handlers):
        return logger
    path = log_path(component)
    handler: logging.Handler
    if path is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
        )
    handler._cloudtrail_firehose = True  # type: ignore[attr-defined]
    handler.setFormatter(_UTCFormatter(LINE_FORMAT))
    logger.addHandler(handler)
    logger.addFilter(_ComponentFilter(component))
    logger.setLevel(level)
    # Splunk runs each input in its own process; never let records reach the root logger,
    # which splunklib or the REST framework may have pointed elsewhere.
    logger.propagate = False
    return logger


class _ComponentFilter(logging.Filter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def filter(self, record: logging.LogRecord) -> bool:
        record.component = self.component
        return True
