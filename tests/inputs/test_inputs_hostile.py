"""The health and recovery inputs against answers that are not AWS's and settings that are incomplete:
each stanza gets its own clear error and the next one still runs."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from cloudtrail_firehose.aws import clients as aws_clients
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.inputs import health_input, recovery_input
from cloudtrail_firehose.splunk.splunkd import Splunkd
from cloudtrail_firehose.splunk.stored_access import StoredAccessError, stored_access
from fake_http import serve
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd

KEYS = {"aws_auth": "keys", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PAGE = b"<!DOCTYPE html>\n<html><head><title>Sign in to the proxy</title></head><body>Welcome</body></html>"
NO_STACK = (b"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
            b"<Message>Stack with id x does not exist</Message></Error></ErrorResponse>")  # fmt: skip


class ProxiedRegion:
    """One endpoint for every AWS call, as botocore sends them over HTTP: a request signed for `proxied`
    gets a proxy's sign-in page with HTTP 200 (what a captive or TLS-inspecting proxy answers); any
    other region answers as CloudFormation does for a stack that does not exist."""

    def __init__(self, proxied: str) -> None:
        self.regions: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                region = re.search(r"Credential=[^/]+/[0-9]+/([^/]+)/", self.headers.get("Authorization", ""))
                outer.regions.append(region.group(1) if region else "")
                status, body, kind = (200, PAGE, "text/html") if outer.regions[-1] == proxied else \
                    (400, NO_STACK, "text/xml")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve(self.server)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


class Writer:
    def __init__(self) -> None:
        self.events: list = []

    def write_event(self, event) -> None:
        self.events.append(event)


@pytest.fixture
def proxy(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    server = ProxiedRegion("eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    yield server
    server.server.shutdown()


def health_reports(stanzas: dict[str, dict[str, str]]) -> dict[str, dict]:
    inputs = SimpleNamespace(metadata={"server_uri": "https://127.0.0.1:8089", "session_key": "k",
                                       "server_host": "sh"}, inputs=stanzas)  # fmt: skip
    writer = Writer()
    health_input.HealthInput().stream_events(inputs, writer)
    return {e.stanza: json.loads(e.data) for e in writer.events}


def test_a_proxys_html_page_for_one_region_is_that_stanzas_unknown_and_the_next_still_reports(proxy, monkeypatch):
    """botocore with an HTML 200 answer raises KeyError('DescribeStacksResult') from its own parser; the
    health input says what happened for that stanza and goes on."""
    monkeypatch.setattr(health_input, "stored_access", lambda splunkd: (KEYS, SECRET))
    reports = health_reports({"firehose_health://proxied": {"region": "eu-west-1", "name_prefix": "pipeline-a"},
                              "firehose_health://direct": {"region": "us-east-1", "name_prefix": "pipeline-b"}})
    assert proxy.regions[0] == "eu-west-1"  # the page really was what botocore got
    proxied = reports["firehose_health://proxied"]
    assert proxied["state"] == "unknown"
    assert "AWS answered something that is not its API in eu-west-1 (a proxy?)" in proxied["why"]
    assert reports["firehose_health://direct"]["state"] == "not_deployed"
    assert SECRET not in json.dumps(reports)


def test_a_proxys_page_is_refused_on_every_client_the_app_makes(proxy):
    """Query (CloudFormation, STS) and JSON (Firehose) protocols alike; an S3 object may be any page."""
    aws = aws_clients.clients_for(KEYS, SECRET, "eu-west-1")
    for call in (lambda: aws("cloudformation").describe_stacks(StackName="x"),
                 lambda: aws("firehose").describe_delivery_stream(DeliveryStreamName="x")):  # fmt: skip
        with pytest.raises(aws_clients.NotAwsAnswerError, match=r"not its API in eu-west-1 \(a proxy\?\)"):
            call()
    with pytest.raises(PipelineError, match="checking AWS credentials: AWS answered something that is not"):
        aws.identity()


@pytest.fixture
def splunkd():
    fake = FakeSplunkd()
    yield fake
    fake.close()


def test_role_mode_without_a_role_arn_is_reported_per_health_stanza(splunkd):
    splunkd.conf["pipeline"] = {"aws_auth": "role"}
    inputs = SimpleNamespace(metadata={"server_uri": splunkd.url, "session_key": ADMIN_TOKEN, "server_host": "sh"},
                             inputs={f"firehose_health://{n}": {"region": "us-east-1", "name_prefix": f"pipe-{n}"}
                                     for n in ("one", "two")})  # fmt: skip
    writer = Writer()
    health_input.HealthInput().stream_events(inputs, writer)
    reports = [json.loads(e.data) for e in writer.events]
    assert [r["state"] for r in reports] == ["unknown", "unknown"]
    assert all("aws_auth is role but no role ARN is stored; open the setup page and give the role's ARN" in r["why"]
               for r in reports)  # fmt: skip


def test_role_mode_without_a_role_arn_is_logged_per_recovery_stanza(splunkd, recovery_log):
    splunkd.conf["pipeline"] = {"aws_auth": "role", "aws_role_arn": ""}
    stanzas = {f"firehose_recovery://{n}": {"bucket": f"bucket-{n}", "region": "us-east-1"} for n in ("one", "two")}
    inputs = SimpleNamespace(metadata={"server_uri": splunkd.url, "session_key": ADMIN_TOKEN}, inputs=stanzas)
    recovery_input.RecoveryInput().stream_events(inputs, Writer())
    for name in ("one", "two"):
        assert (f"firehose_recovery://{name}: no failed-delivery object was read: aws_auth is role but no role ARN "
                "is stored" in recovery_log.text)  # fmt: skip
    assert "KeyError" not in recovery_log.text


def test_role_mode_without_a_role_arn_is_a_clear_error_wherever_a_session_is_made(splunkd):
    splunkd.conf["pipeline"] = {"aws_auth": "role"}
    with pytest.raises(StoredAccessError, match="no role ARN is stored; open the setup page"):
        stored_access(Splunkd(splunkd.url, ADMIN_TOKEN))
    with pytest.raises(aws_clients.AccessError, match="no role ARN is stored"):
        aws_clients.session_for({"aws_auth": "role", "aws_role_arn": " "}, None, "us-east-1")
