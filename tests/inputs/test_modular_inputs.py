"""The modular inputs through splunklib's real protocol, as Splunk runs them: --scheme,
--validate-arguments with XML on stdin, and streaming with an input definition."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
from cloudtrail_firehose.firehose.records import event_time
from cloudtrail_firehose.inputs.recovery import SETTLE_SECONDS, WRITE_WINDOW
from cloudtrail_firehose.inputs.s3_lease import LEASE_KEY
from failed_deliveries import BUCKET, EVENTS, put_objects
from fake_http import serve
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd
from waits import no_wait_env, waits

ROOT = Path(__file__).resolve().parents[2]


def run_input(script: str, args: list[str], stdin: str, endpoint: str | None = None, home: Path | None = None,
              **extra_env: str):  # fmt: skip
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "package"), "HOME": str(home or ROOT),
           "AWS_CONFIG_FILE": "/nonexistent", "PYTHONWARNINGS": "ignore", **extra_env}  # fmt: skip
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    if home:
        env["SPLUNK_HOME"] = str(home)
    return subprocess.run([sys.executable, str(ROOT / "bin" / script), *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=300)  # fmt: skip


def validation_xml(parameters: dict[str, str]) -> str:
    params = "".join(f'<param name="{k}">{v}</param>' for k, v in parameters.items())
    return (f"<items><server_host>sh</server_host><server_uri>https://127.0.0.1:8089</server_uri>"
            f"<session_key>x</session_key><checkpoint_dir>/tmp</checkpoint_dir>"
            f'<item name="main">{params}</item></items>')  # fmt: skip


def test_recovery_scheme_declares_its_arguments():
    result = run_input("firehose_recovery.py", ["--scheme"], "")
    assert result.returncode == 0, result.stderr
    scheme = ET.fromstring(result.stdout)
    assert scheme.findtext("use_external_validation") == "true"
    names = {arg.get("name") for arg in scheme.iter("arg")}
    assert names == {"bucket", "region", "index", "settle_seconds"}


@pytest.mark.slow
def test_recovery_validation_accepts_good_and_explains_bad_arguments():
    good_arguments = validation_xml({"bucket": BUCKET, "region": "us-east-1"})
    good = run_input("firehose_recovery.py", ["--validate-arguments"], good_arguments)
    assert good.returncode == 0, good.stdout + good.stderr
    bad_arguments = validation_xml({"bucket": "Bad_Bucket!", "region": "mars-1", "settle_seconds": "5"})
    bad = run_input("firehose_recovery.py", ["--validate-arguments"], bad_arguments)
    assert bad.returncode == 1
    message = ET.fromstring(bad.stdout).findtext("message")
    assert "bucket: 'Bad_Bucket!' is not an S3 bucket name" in message
    assert "region: 'mars-1' is not an AWS region" in message
    assert "settle_seconds: '5' is not a whole number of seconds from 60 to 86400" in message


def input_definition(splunkd: FakeSplunkd, checkpoint_dir: Path, stanza: str, **parameters: str) -> str:
    """What Splunk writes to a modular input's stdin in streaming mode."""
    params = "".join(f'<param name="{k}">{v}</param>' for k, v in parameters.items())
    return (f"<input><server_host>sh</server_host><server_uri>{splunkd.url}</server_uri>"
            f"<session_key>{ADMIN_TOKEN}</session_key><checkpoint_dir>{checkpoint_dir}</checkpoint_dir>"
            f'<configuration><stanza name="{stanza}">{params}</stanza></configuration></input>')


@pytest.fixture
def splunkd():
    fake = FakeSplunkd()
    fake.conf["pipeline"] = {"index": "aws_cloudtrail", "aws_auth": "keys", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}
    fake.passwords["cloudtrail_firehose:aws_secret_access_key:"] = "secret"
    yield fake
    fake.close()


def test_recovery_streams_events_as_splunk_parses_them_and_retires_what_splunk_shows(endpoint, splunkd, tmp_path):
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="t",
                      aws_secret_access_key="t")  # fmt: skip
    put_objects(s3)
    definition = input_definition(splunkd, tmp_path, "firehose_recovery://main", bucket=BUCKET, region="us-east-1")
    result = run_input("firehose_recovery.py", [], definition, endpoint=endpoint, home=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    stream = ET.fromstring(result.stdout)
    events = list(stream.iter("event"))
    trail = [e for e in events if e.findtext("sourcetype") == "aws:cloudtrail"]
    assert sorted(json.loads(e.findtext("data"))["eventID"] for e in trail) == sorted(e["eventID"] for e in EVENTS)
    assert all(e.findtext("index") == "aws_cloudtrail" for e in events)
    assert all(e.findtext("source").startswith(f"firehose_recovery:s3://{BUCKET}/") for e in events)
    first = next(e for e in trail if json.loads(e.findtext("data"))["eventID"] == EVENTS[0]["eventID"])
    assert float(first.findtext("time")) == event_time(EVENTS[0])
    log = tmp_path / "var/log/splunk/cloudtrail_firehose_recovery.log"
    assert "0 objects retired, 3 waiting, 0 failed; wrote 60 events, 46 error events" in log.read_text()
    [report] = [e for e in events if '"Recovery.NeedsAttention"' in e.findtext("data")]  # part-1's, saying why
    assert "lines 3, 5 could not be read" in json.loads(report.findtext("data"))["errorMessage"]
    assert len(waiting(s3)) == 3  # nothing is retired before Splunk shows its events
    # Splunk indexes what it was sent; the settle time later a search finds it.
    for event in events:  # as Splunk keeps them: _raw is the data written, _time the time written (else now)
        splunkd.indexed.append({"_raw": event.findtext("data"), "_time": float(event.findtext("time") or time.time()),
                                "index": event.findtext("index"), "sourcetype": event.findtext("sourcetype"),
                                "source": event.findtext("source")})  # fmt: skip
    rewind_journal(s3, SETTLE_SECONDS + WRITE_WINDOW + 60)
    again = run_input("firehose_recovery.py", [], definition, endpoint=endpoint, home=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "<event" not in again.stdout  # nothing written twice
    assert "3 objects retired, 0 waiting, 0 failed; wrote 0 events, 0 error events; 106 already indexed" in \
        log.read_text()  # fmt: skip
    assert waiting(s3) == set()
    searches = [form["search"] for method, path, form in splunkd.requests if path == "services/search/jobs"]
    assert all(search.startswith('search index="aws_cloudtrail" ') for search in searches)


def waiting(s3) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
            if o["Key"].startswith(("splunk-failed/", "processing-failed/"))}  # fmt: skip


def rewind_journal(s3, seconds: float) -> None:
    """Let time pass for the input: the journal it keeps with its lease says the writes happened that much
    earlier (the input judges time by S3's Date, which moto gives as the real time)."""
    lease = json.loads(s3.get_object(Bucket=BUCKET, Key=LEASE_KEY)["Body"].read())
    for entry in lease["objects"].values():
        entry["writing_until"] = entry["writing_until"] and entry["writing_until"] - seconds
    s3.put_object(Bucket=BUCKET, Key=LEASE_KEY, Body=json.dumps(lease).encode())


@pytest.mark.slow
def test_health_scheme_and_validation():
    scheme = ET.fromstring(run_input("firehose_health.py", ["--scheme"], "").stdout)
    assert {arg.get("name") for arg in scheme.iter("arg")} == {"region", "name_prefix"}
    arguments = validation_xml({"region": "us-east-1", "name_prefix": "Bad Name"})
    bad = run_input("firehose_health.py", ["--validate-arguments"], arguments)
    assert bad.returncode == 1
    assert "name_prefix" in ET.fromstring(bad.stdout).findtext("message")


def test_health_streams_one_event_per_pipeline(endpoint, splunkd, tmp_path):
    definition = input_definition(splunkd, tmp_path, "firehose_health://main", region="us-east-1",
                                  name_prefix="never-deployed")  # fmt: skip
    result = run_input("firehose_health.py", [], definition, endpoint=endpoint, home=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    [event] = list(ET.fromstring(result.stdout).iter("event"))
    assert event.findtext("sourcetype") == "aws:firehose:health"
    report = json.loads(event.findtext("data"))
    assert report["state"] == "not_deployed"
    assert "Deploy on the setup page" in report["why"]


def test_recovery_without_splunkd_stops_with_a_clear_error_and_moves_nothing(endpoint, tmp_path):
    """splunkd does not answer: the input must not fall back to other AWS credentials (here the
    environment's, which could read the bucket) but say why it did nothing."""
    from failed_deliveries import record

    bucket = "manual-recovery-test"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="t",
                      aws_secret_access_key="t")  # fmt: skip
    s3.create_bucket(Bucket=bucket)
    body = b"\n".join(record(json.dumps(event).encode()) for event in EVENTS[:5])
    s3.put_object(Bucket=bucket, Key="splunk-failed/manual/part-9", Body=body)
    nowhere = type("Nowhere", (), {"url": "http://127.0.0.1:9"})()
    definition = input_definition(nowhere, tmp_path, "firehose_recovery://manual", bucket=bucket, region="us-east-1",
                                  index="main")  # fmt: skip
    result = run_input("firehose_recovery.py", [], definition, endpoint=endpoint, home=tmp_path,
                       AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(ET.fromstring(result.stdout or "<stream/>").iter("event")) == []
    log = (tmp_path / "var/log/splunk/cloudtrail_firehose_recovery.log").read_text()
    assert "cannot read the app's AWS access from splunkd at http://127.0.0.1:9" in log
    assert "check that splunkd is running" in log
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["splunk-failed/manual/part-9"]


def test_health_without_splunkd_reports_unknown_with_the_reason(endpoint, tmp_path):
    nowhere = type("Nowhere", (), {"url": "http://127.0.0.1:9"})()
    definition = input_definition(nowhere, tmp_path, "firehose_health://main", region="us-east-1",
                                  name_prefix="never-deployed", index="main")  # fmt: skip
    result = run_input("firehose_health.py", [], definition, endpoint=endpoint, home=tmp_path,
                       AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    [event] = list(ET.fromstring(result.stdout).iter("event"))
    report = json.loads(event.findtext("data"))
    assert report["state"] == "unknown"  # not "not_deployed": that would be the environment's account speaking
    assert "no AWS access: cannot read the app's AWS access from splunkd" in report["why"]


class RecordingAws:
    """An AWS endpoint that keeps each request's headers: it answers the first with 503 (retried), then refuses
    everything (403 AccessDenied, not retried)."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _refuse(self) -> None:
                recorder.headers.append(dict(self.headers))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, code = (503, b"ServiceUnavailable") if len(recorder.headers) == 1 else (403, b"AccessDenied")
                body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>" + code + b"</Code>"
                        b"<Message>recorded</Message></Error></ErrorResponse>")  # fmt: skip
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = _refuse  # noqa: N815 - http.server's naming

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve(self.server)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.mark.parametrize(("script", "parameters"), [
    ("firehose_recovery.py", {"bucket": BUCKET, "region": "us-east-1"}),
    ("firehose_health.py", {"region": "us-east-1", "name_prefix": "cloudtrail-firehose"}),
])  # fmt: skip
@pytest.mark.slow
def test_inputs_call_aws_with_the_apps_client_config(splunkd, tmp_path, script, parameters):
    recorder = RecordingAws()
    try:
        definition = input_definition(splunkd, tmp_path, f"{script[:-3]}://main", **parameters)
        result = run_input(script, [], definition, endpoint=recorder.url, home=tmp_path)
    finally:
        recorder.server.shutdown()
    assert result.returncode == 0, result.stderr[-2000:]
    assert recorder.headers, "the input sent nothing to AWS"
    version = re.search(r"^version\s*=\s*(\S+)", (ROOT / "default/app.conf").read_text(), re.M).group(1)
    for headers in recorder.headers:
        assert f"cloudtrail_firehose/{version}" in headers["User-Agent"]
        assert "attempt=" in headers["amz-sdk-request"]
        assert "Credential=AKIAIOSFODNN7EXAMPLE/" in headers["Authorization"]
    # botocore's standard retry mode retries the 503 and announces its attempt budget (the first try + the app's
    # 8 retries); botocore before 1.43 names the budget from the first retry on.
    assert recorder.headers[1]["amz-sdk-request"].endswith("attempt=2; max=9")


def test_health_says_unknown_when_aws_cannot_be_reached(splunkd, tmp_path):
    """After botocore's retries (the app's 8, each after a backoff, counted not waited: tests/standins/no_wait)."""
    definition = input_definition(splunkd, tmp_path, "firehose_health://main", region="us-east-1",
                                  name_prefix="cloudtrail-firehose")  # fmt: skip
    result = run_input("firehose_health.py", [], definition, endpoint="http://127.0.0.1:9", home=tmp_path,
                       **no_wait_env(tmp_path / "waits"))  # fmt: skip
    assert len(waits(tmp_path / "waits")) == 8, waits(tmp_path / "waits")
    assert result.returncode == 0, result.stderr[-2000:]
    [event] = list(ET.fromstring(result.stdout).iter("event"))
    report = json.loads(event.findtext("data"))
    assert report["state"] == "unknown"
    assert "could not reach AWS" in report["why"]


def test_health_one_invalid_stanza_does_not_stop_the_others(endpoint, splunkd, tmp_path):
    stanzas = {"firehose_health://broken": {"region": "us-east-1", "name_prefix": "Bad Name"},
               "firehose_health://good": {"region": "us-east-1", "name_prefix": "never-deployed"}}  # fmt: skip
    definition = multi_stanza_definition(splunkd, tmp_path, stanzas)
    result = run_input("firehose_health.py", [], definition, endpoint=endpoint, home=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = {e.get("stanza"): json.loads(e.findtext("data")) for e in ET.fromstring(result.stdout).iter("event")}
    assert reports["firehose_health://good"]["state"] == "not_deployed"
    broken = reports["firehose_health://broken"]
    assert broken["state"] == "unknown"
    assert "name_prefix" in broken["why"]
    assert "Settings > Data inputs" in broken["why"]


def multi_stanza_definition(splunkd: FakeSplunkd, checkpoint_dir: Path, stanzas: dict[str, dict[str, str]]) -> str:
    body = "".join(f'<stanza name="{name}">' + "".join(f'<param name="{k}">{v}</param>' for k, v in params.items())
                   + "</stanza>" for name, params in stanzas.items())  # fmt: skip
    return (f"<input><server_host>sh</server_host><server_uri>{splunkd.url}</server_uri>"
            f"<session_key>{ADMIN_TOKEN}</session_key><checkpoint_dir>{checkpoint_dir}</checkpoint_dir>"
            f"<configuration>{body}</configuration></input>")


def test_a_defect_in_one_recovery_stanza_does_not_stop_the_next(monkeypatch, recovery_log):
    """Whatever one stanza meets (an answer no one foresaw), the stanzas after it still run."""
    from types import SimpleNamespace

    from cloudtrail_firehose.inputs import recovery_input
    from cloudtrail_firehose.inputs.recovery import Summary

    ran = []

    def run_stanza(stanza, *args):
        ran.append(stanza)
        if stanza.endswith("first"):
            raise KeyError("DescribeStacksResult")
        return Summary(objects=1)

    monkeypatch.setattr(recovery_input, "stored_access", lambda splunkd: ({}, None))
    monkeypatch.setattr(recovery_input, "run_stanza", run_stanza)
    stanzas = {f"firehose_recovery://{name}": {"bucket": BUCKET, "region": "us-east-1"} for name in ("first", "second")}
    inputs = SimpleNamespace(metadata={"server_uri": "https://127.0.0.1:8089", "session_key": "k"}, inputs=stanzas)
    recovery_input.RecoveryInput().stream_events(inputs, None)
    assert ran == ["firehose_recovery://first", "firehose_recovery://second"]
    assert "firehose_recovery://first: stopped by an unexpected error" in recovery_log.text
    assert "firehose_recovery://second: 1 objects retired" in recovery_log.text
