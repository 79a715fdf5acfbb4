"""The app's logs land where Splunk indexes them, with a sourcetype admins can search."""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from cloudtrail_firehose import log
from splunk_conf import read_conf, split_events

ROOT = Path(__file__).resolve().parents[1]


def _forget_loggers() -> None:
    for name in list(logging.Logger.manager.loggerDict):
        if name.startswith("cloudtrail_firehose."):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                handler.close()
                logger.removeHandler(handler)
            logger.filters.clear()


@pytest.fixture
def fresh_logger():
    """Loggers are process-wide: forget the ones other tests configured, and the ones this test does."""
    _forget_loggers()
    yield
    _forget_loggers()


def splunk_source_matches(pattern: str, path: str) -> bool:
    """Splunk's source:: stanza matching: '...' any directories, '*' within one segment."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("...", i):
            regex, i = regex + ".*", i + 3
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        else:
            regex, i = regex + pattern[i], i + 1
    return re.fullmatch(regex, path) is not None


def app_log_source_stanza() -> str:
    props = read_conf(ROOT / "default" / "props.conf")
    [stanza] = [s for s in props if s.startswith("source::") and "var/log" in s]
    assert props[stanza]["sourcetype"] == "cloudtrail_firehose:log"
    return stanza.removeprefix("source::")


def test_inside_splunk_a_component_logs_to_its_own_file(tmp_path, monkeypatch, fresh_logger):
    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path))
    logger = log.get_logger("recovery")
    logger.info("recovered %d events from %s", 3, "s3://bucket/key")
    logger.warning("second line")
    path = tmp_path / "var" / "log" / "splunk" / "cloudtrail_firehose_recovery.log"
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        f"level=INFO pid={os.getpid()} component=recovery | recovered 3 events from s3://bucket/key"
    )
    assert log.get_logger("recovery") is logger
    assert sum(getattr(h, "_cloudtrail_firehose", False) for h in logger.handlers) == 1


def test_log_lines_carry_the_time_format_props_conf_declares(tmp_path, monkeypatch, fresh_logger):
    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path))
    log.get_logger("setup").error("boom")
    line = (tmp_path / "var/log/splunk/cloudtrail_firehose_setup.log").read_text()
    props = read_conf(ROOT / "default" / "props.conf")["cloudtrail_firehose:log"]
    # Splunk's %3N is milliseconds; strptime's %f accepts them.
    stamp = line[: int(props["MAX_TIMESTAMP_LOOKAHEAD"])].split(" ")[0]
    parsed = datetime.strptime(stamp, props["TIME_FORMAT"].replace("%3N", "%f"))
    assert parsed.utcoffset().total_seconds() == 0
    assert abs((datetime.now(parsed.tzinfo) - parsed).total_seconds()) < 60


def test_a_traceback_stays_in_the_event_that_logged_it(tmp_path, monkeypatch, fresh_logger):
    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path))
    logger = log.get_logger("health")
    try:
        raise ValueError("bad metric")
    except ValueError:
        logger.exception("poll failed")
    logger.info("next")
    text = (tmp_path / "var/log/splunk/cloudtrail_firehose_health.log").read_text()
    breaker = read_conf(ROOT / "default" / "props.conf")["cloudtrail_firehose:log"]["LINE_BREAKER"]
    events = split_events(text, breaker)
    assert len(events) == 2
    assert "poll failed" in events[0]
    assert events[0].rstrip().endswith("ValueError: bad metric")
    assert events[1].endswith("| next\n")


def test_log_files_and_their_rotations_get_the_app_sourcetype():
    pattern = app_log_source_stanza()
    for path in (
        "/opt/splunk/var/log/splunk/cloudtrail_firehose_setup.log",
        "/opt/splunk/var/log/splunk/cloudtrail_firehose_recovery.log.3",
        r"C:\Program Files\Splunk/var/log/splunk/cloudtrail_firehose_health.log",
    ):
        assert splunk_source_matches(pattern, path), path
    for path in ("/opt/splunk/var/log/splunk/splunkd.log", "/var/log/cloudtrail_firehose_setup.log"):
        assert not splunk_source_matches(pattern, path), path


def test_log_files_rotate(tmp_path, monkeypatch, fresh_logger):
    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path))
    monkeypatch.setattr(log, "MAX_BYTES", 2000)
    logger = log.get_logger("cli")
    for i in range(100):
        logger.info("line %03d %s", i, "x" * 40)
    folder = tmp_path / "var/log/splunk"
    assert (folder / "cloudtrail_firehose_cli.log.1").exists()
    assert len(list(folder.glob("cloudtrail_firehose_cli.log*"))) == 1 + log.BACKUP_COUNT


def test_outside_splunk_logs_go_to_stderr(monkeypatch, capsys, fresh_logger):
    monkeypatch.delenv("SPLUNK_HOME", raising=False)
    log.get_logger("cli").warning("no splunk here")
    assert "component=cli | no splunk here" in capsys.readouterr().err


def test_component_names_cannot_escape_the_log_folder():
    with pytest.raises(ValueError, match="component name"):
        log.get_logger("../../etc/passwd")
