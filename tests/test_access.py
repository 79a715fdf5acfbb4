"""AWS access: the three access modes and refreshed role credentials (aws/clients.py), the secret read in
keys mode only and a clear error when splunkd cannot say (splunk/stored_access.py), one set of clients per flow."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timedelta, timezone

import boto3
import moto_shims  # noqa: F401 - CloudFormation resources moto lacks
import pytest
from cloudtrail_firehose.aws import clients as aws_clients
from cloudtrail_firehose.aws import pipeline
from cloudtrail_firehose.aws.settings import PipelineSettings
from cloudtrail_firehose.splunk.splunkd import Splunkd
from cloudtrail_firehose.splunk.stored_access import StoredAccessError, stored_access
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd
from moto import mock_aws

REGION = "us-east-1"
ROLE = {"aws_auth": "role", "aws_role_arn": "arn:aws:iam::123456789012:role/splunk-setup", "aws_external_id": "x-1"}
SECRET_ID = "cloudtrail_firehose:aws_secret_access_key:"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    warnings.filterwarnings("ignore", message="Tried to parse")
    with mock_aws():
        yield


@pytest.fixture
def splunkd():
    fake = FakeSplunkd()
    yield fake
    fake.close()


class Clock:
    """The time botocore's refresh logic sees; the test moves it on while a deploy is watched."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class ExpiryWatch:
    """What AWS enforces and moto does not: a request signed with expired credentials is refused.

    Each AssumeRole answer expires one hour (the duration the app asks for) after the clock's now,
    as AWS's would; every request signed with a key whose expiry the clock has passed is recorded.
    Each request takes `step` of the clock's time: a slow deploy.
    """

    def __init__(self, base: boto3.Session, clock: Clock, step: timedelta) -> None:
        self.expiry: dict[str, datetime] = {}
        self.expired: list[str] = []
        self.signed: list[str] = []
        self.clock, self.step = clock, step
        base.events.register("after-call.sts.AssumeRole", self._issued)  # before the STS client is made

    def watch(self, assumed: boto3.Session) -> None:
        assumed.events.register("before-send", self._sent)

    def _issued(self, parsed: dict, **_) -> None:
        parsed["Credentials"]["Expiration"] = self.clock() + timedelta(hours=1)
        self.expiry[parsed["Credentials"]["AccessKeyId"]] = parsed["Credentials"]["Expiration"]

    def _sent(self, request, **_) -> None:
        authorization = request.headers.get("Authorization", b"")  # bytes or str, by botocore's version
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        found = re.search(r"Credential=([^/]+)/", authorization)
        if found:
            key = found.group(1)
            self.signed.append(key)
            if key not in self.expiry or self.expiry[key] <= self.clock():
                self.expired.append(f"{request.method} {request.url} signed with {key}")
        self.clock.now += self.step


def test_assumed_role_credentials_are_fetched_again_when_a_deploy_outlasts_them(aws):
    clock = Clock()
    base = boto3.Session(region_name=REGION)
    watch = ExpiryWatch(base, clock, step=timedelta(minutes=12))
    clients = aws_clients.clients_for(ROLE, None, REGION, base=base, clock=clock)
    watch.watch(clients.session)
    settings = PipelineSettings(hec_url="https://hec.example.com", region=REGION)
    outputs = pipeline.ensure_pipeline(settings, clients, progress=lambda _: None, hec_tokens={"cloudtrail": "t"},
                                       sleep=lambda s: None)  # fmt: skip
    assert pipeline.status(settings, clients, detect_drift=False)["status"] == "CREATE_COMPLETE"

    assert "DeliveryStreamName" in outputs
    outlasted = clock.now - datetime.now(timezone.utc)
    assert outlasted > timedelta(hours=2), f"the deploy must outlast the role: {watch.signed}"
    assert watch.expired == []
    assert len(set(watch.signed)) >= 3, "credentials were not fetched again"
    assert set(watch.signed) <= set(watch.expiry)
    assert ":assumed-role/splunk-setup/cloudtrail-firehose-setup" in clients.identity()["Arn"]


def test_assume_role_passes_the_external_id_and_a_one_hour_duration(aws):
    base = boto3.Session(region_name=REGION)
    sent: list[dict] = []
    base.events.register("provide-client-params.sts.AssumeRole", lambda params, **_: sent.append(dict(params)))
    clients = aws_clients.clients_for(ROLE, None, REGION, base=base)
    clients("s3").list_buckets()
    assert sent == [{"RoleArn": ROLE["aws_role_arn"], "RoleSessionName": "cloudtrail-firehose-setup",
                     "DurationSeconds": 3600, "ExternalId": "x-1"}]  # fmt: skip


def test_a_role_that_cannot_be_assumed_is_a_clear_error_not_the_chains_identity(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clients = aws_clients.clients_for(ROLE, None, REGION)
    with pytest.raises(aws_clients.AccessError) as raised:
        clients.identity()
    message = str(raised.value)
    assert f"assuming role {ROLE['aws_role_arn']}" in message
    assert "no AWS credentials found" in message
    assert "trust policy" in message


def password_reads(fake: FakeSplunkd) -> list[str]:
    return [path for _, path, _ in fake.requests if "storage/passwords" in path]


def test_keys_mode_reads_the_secret_and_no_other_mode_does(splunkd):
    splunkd.passwords[SECRET_ID] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    client = Splunkd(splunkd.url, ADMIN_TOKEN)
    splunkd.conf["pipeline"] = {"aws_auth": "keys", "aws_access_key_id": KEY_ID, "index": "main"}
    config, secret = stored_access(client)
    assert secret == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert aws_clients.session_for(config, secret, REGION).get_credentials().access_key == KEY_ID
    assert password_reads(splunkd)
    for settings in (ROLE, {"aws_auth": "instance"}):
        splunkd.requests.clear()
        splunkd.conf["pipeline"] = dict(settings)
        config, secret = stored_access(client)
        assert (config["aws_auth"], secret) == (settings["aws_auth"], None)
        assert password_reads(splunkd) == []


def test_keys_without_a_stored_secret_say_so(splunkd):
    splunkd.conf["pipeline"] = {"aws_auth": "keys", "aws_access_key_id": KEY_ID}
    with pytest.raises(StoredAccessError, match="no secret access key is stored; enter it on the setup page"):
        stored_access(Splunkd(splunkd.url, ADMIN_TOKEN))


def test_an_unknown_mode_in_the_conf_file_says_so(splunkd):
    splunkd.conf["pipeline"] = {"aws_auth": "sso"}
    with pytest.raises(StoredAccessError, match="'sso' is not one of keys, role, instance"):
        stored_access(Splunkd(splunkd.url, ADMIN_TOKEN))


def test_splunkd_unreachable_is_a_clear_error_never_the_instance_role():
    with pytest.raises(StoredAccessError) as raised:
        stored_access(Splunkd("http://127.0.0.1:9", ADMIN_TOKEN, timeout=5))
    message = str(raised.value)
    assert "cannot read the app's AWS access from splunkd at http://127.0.0.1:9" in message
    assert "check that splunkd is running" in message


def test_nothing_stored_yet_means_the_default_chain(splunkd):
    assert stored_access(Splunkd(splunkd.url, ADMIN_TOKEN)) == ({"aws_auth": "instance"}, None)
    assert password_reads(splunkd) == []


def test_every_client_carries_the_apps_config(aws):
    clients = aws_clients.Clients(boto3.Session(region_name=REGION), REGION)
    for service in ("s3", "cloudformation", "cloudwatch", "sts"):
        config = clients(service).meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": 9}  # botocore counts the first try
        assert config.user_agent_extra == f"cloudtrail_firehose/{aws_clients.app_version()}"
        assert clients(service).meta.region_name == REGION
    assert re.fullmatch(r"\d+\.\d+\.\d+", aws_clients.app_version())


def test_one_flow_makes_each_client_once_and_asks_who_it_is_once(aws):
    session = boto3.Session(region_name=REGION)
    made: list[str] = []
    identities: list[str] = []
    client = session.client
    session.client = lambda name, **kw: made.append(name) or client(name, **kw)
    session.events.register("before-call.sts.GetCallerIdentity", lambda **_: identities.append("asked"))
    clients = aws_clients.Clients(session, REGION)
    settings = PipelineSettings(hec_url="https://hec.example.com", region=REGION, processor="lambda")
    pipeline.ensure_pipeline(settings, clients, progress=lambda line: None, hec_tokens={"cloudtrail": "t"},
                             sleep=lambda s: None)  # fmt: skip
    pipeline.destroy(settings, clients, delete_data=True, progress=lambda line: None, sleep=lambda s: None)
    assert sorted(made) == sorted(set(made)), made
    assert identities == ["asked"]


def test_clients_for_another_region_share_the_session_not_the_clients(aws):
    first = aws_clients.Clients(boto3.Session(region_name=REGION), REGION)
    assert aws_clients.clients(first, REGION) is first
    other = aws_clients.clients(first, "eu-west-1")
    assert other.session is first.session
    assert other("s3").meta.region_name == "eu-west-1"
