"""Where Firehose delivers, end to end through the setup handler: a search head whose splunkd has no
local HEC and whose index lives only on the indexers (tests/standins/fake_splunkd.py), an existing token on a
HEC tier (tests/standins/fake_hec.py) and Splunk Cloud through ACS (tests/standins/fake_acs.py), with AWS in moto.
Every failure must say what is wrong and leave nothing half-deployed: no stack and no secret."""

from __future__ import annotations

import dataclasses
import functools
import json
import socket
import warnings
from datetime import datetime, timedelta, timezone

import boto3
import moto_shims  # noqa: F401 - CloudFormation resources moto lacks
import pytest
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.setup.delivery import Tools, delivery_for
from cloudtrail_firehose.setup.handler import SetupService
from cloudtrail_firehose.splunk.acs import Acs
from cloudtrail_firehose.splunk.hec_check import check_hec_token
from cloudtrail_firehose.splunk.splunkd import Splunkd
from fake_acs import JWT, FakeAcs
from fake_hec import FakeHec
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd
from moto import mock_aws
from setup_client import FORM, call, wait

HEC_HOST = "hec.example.test"  # the HEC tier's public name; resolves to the stand-in on 127.0.0.1
AWS = {k: FORM[k] for k in ("region", "aws_auth", "aws_access_key_id", "aws_secret_access_key")}
CLOUD_URL = "https://http-inputs-firehose-acme.splunkcloud.com"


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path / "splunk"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    warnings.filterwarnings("ignore", message="Tried to parse")
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1" if host == HEC_HOST else host,
                                                                           *a, **k))  # fmt: skip
    # AWS's own check of the public URL needs the internet; the HEC check below is the real one.
    monkeypatch.setattr("cloudtrail_firehose.aws.preflight.check_hec_certificate",
                        lambda url: type("C", (), {"ok": True, "detail": f"{url} trusted (test)"})())  # fmt: skip
    splunkd, hec, acs = FakeSplunkd(), FakeHec(tmp_path, HEC_HOST), FakeAcs()
    # A search head: no HEC inputs of its own, the index only on the two indexers.
    splunkd.local_hec = False
    splunkd.indexes = {"main"}
    splunkd.peers = {"idx1": {"main", "aws_cloudtrail"}, "idx2": {"main", "aws_cloudtrail"}}
    tools = Tools(acs=functools.partial(Acs, base_url=acs.url, poll_interval=0, attempts=2, sleep=lambda s: None),
                  check_hec=functools.partial(check_hec_token, cafile=str(hec.cert), timeout=5),
                  sleep=lambda seconds: acs.waited.append((seconds, sorted(acs.tokens))))  # fmt: skip
    acs.waited = []  # what the deploy waited for, and the tokens alive meanwhile
    with mock_aws():
        yield SetupService(tools=tools), splunkd, hec, acs
    for fake in (splunkd, hec, acs):
        fake.close()


def hec_url(hec: FakeHec) -> str:
    return f"https://{HEC_HOST}:{hec.server.server_address[1]}"


def deploy(service, splunkd, form: dict, **body) -> dict:
    status, answer = call(service, splunkd, "POST", "config", form)
    assert status == 200, answer
    return wait(service, splunkd, call(service, splunkd, "POST", "deploy", body)[1]["job"])


def check(service, splunkd) -> dict[str, dict]:
    job = wait(service, splunkd, call(service, splunkd, "POST", "check", {})[1]["job"])
    assert job["state"] == "succeeded", job["error"]
    return {c["name"]: c for c in job["result"]}


def secrets_in_aws() -> list[str]:
    return [s["Name"] for s in boto3.client("secretsmanager", "us-east-1").list_secrets()["SecretList"]]


def stacks() -> list[str]:
    summaries = boto3.client("cloudformation", "us-east-1").list_stacks()["StackSummaries"]
    return [s["StackName"] for s in summaries if s["StackStatus"] != "DELETE_COMPLETE"]


def token_in_aws(outputs: dict) -> str:
    secret = boto3.client("secretsmanager", "us-east-1").get_secret_value(SecretId=outputs["HecTokenSecretArn"])
    return json.loads(secret["SecretString"])["hec_token"]


def assert_nothing_deployed(job: dict, *words: str) -> None:
    assert job["state"] == "failed"
    for word in words:
        assert word in job["error"], job["error"]
    assert stacks() == []
    assert secrets_in_aws() == []


# --- an existing HEC token on another tier ----------------------------------------------------------


def existing(hec: FakeHec, token: str) -> dict:
    return FORM | {"delivery": "existing", "hec_url": hec_url(hec), "hec_token": token}


@pytest.mark.slow
def test_an_existing_token_is_checked_stored_secretly_and_handed_to_firehose(world):
    service, splunkd, hec, _ = world
    token = hec.add_token()
    status, answer = call(service, splunkd, "POST", "config", existing(hec, token))
    assert (status, answer["secrets"]) == (200, ["aws_secret_access_key", "hec_token"])
    assert splunkd.passwords["cloudtrail_firehose:hec_token:"] == token
    assert token not in json.dumps(splunkd.conf)
    assert token not in json.dumps(call(service, splunkd, "GET", "config")[1])

    checks = check(service, splunkd)
    assert checks["HEC token"]["ok"] is True
    assert checks["Splunk index"]["ok"] is True
    assert "idx1, idx2" in checks["Splunk index"]["detail"]
    # HEC cannot say the token's source and sourcetype, and this splunkd does not hold it: say what to set.
    assert "source = http:cloudtrail_firehose and sourcetype = aws:cloudtrail" in checks["HEC token settings"]["detail"]

    job = deploy(service, splunkd, {k: v for k, v in existing(hec, "").items() if k != "hec_token"})
    assert job["state"] == "succeeded", job["error"]
    assert token_in_aws(job["result"]["outputs"]) == token
    assert hec.indexed == []  # checked without sending an event
    assert splunkd.hec_inputs == {}  # nothing created on the search head
    assert any("warning: HEC cannot report" in line for line in job["progress"])


def test_an_existing_tokens_settings_are_checked_where_this_splunkd_holds_it(world):
    service, splunkd, hec, _ = world
    token = hec.add_token()
    splunkd.local_hec = True  # a heavy forwarder that runs setup and HEC
    splunkd.hec_inputs["firehose"] = {"token": token, "source": "firehose", "sourcetype": "aws:cloudtrail",
                                      "index": "aws_cloudtrail", "indexes": "aws_cloudtrail",
                                      "useACK": "1"}  # fmt: skip
    call(service, splunkd, "POST", "config", existing(hec, token))
    warning = check(service, splunkd)["HEC token settings"]["detail"]
    assert "default source is firehose; set it to http:cloudtrail_firehose" in warning


@pytest.mark.parametrize(("case", "words"), [
    ("unknown token", ["code 4", "Copy the token value again"]),
    ("ack off", ["code 14", "Turn on \"Enable indexer acknowledgement\""]),
    ("disabled token", ["code 1", "Enable it on the HEC tier"]),
    ("unreachable", ["cannot connect", HEC_HOST]),
])  # fmt: skip
def test_an_existing_token_that_cannot_work_stops_the_deploy_before_aws(world, case, words):
    service, splunkd, hec, _ = world
    token = {"unknown token": "3f9a4d1e-0000-4000-8000-000000000000", "ack off": hec.add_token(ack=False),
             "disabled token": hec.add_token(disabled=True), "unreachable": hec.add_token()}[case]  # fmt: skip
    form = existing(hec, token)
    if case == "unreachable":
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            form["hec_url"] = f"https://{HEC_HOST}:{free.getsockname()[1]}"
    call(service, splunkd, "POST", "config", form)
    assert check(service, splunkd)["HEC token"]["ok"] is False
    assert_nothing_deployed(deploy(service, splunkd, form), "the HEC token does not work", *words)


def test_an_existing_token_must_be_given(world):
    service, splunkd, hec, _ = world
    status, answer = call(service, splunkd, "POST", "config", existing(hec, ""))
    assert status == 400
    assert any(p.startswith("hec_token: paste the value") for p in answer["problems"]), answer
    assert splunkd.conf == {}


# --- Splunk Cloud through ACS -------------------------------------------------------------------------


CLOUD = {"index": "aws_cloudtrail", "delivery": "cloud", "splunk_cloud_stack": "acme", "acs_token": JWT, **AWS}


@pytest.mark.slow
def test_splunk_cloud_gets_its_token_through_acs_and_the_stacks_firehose_endpoint(world):
    service, splunkd, _, acs = world
    status, answer = call(service, splunkd, "POST", "config", CLOUD)
    assert status == 200, answer
    assert splunkd.conf["pipeline"]["hec_url"] == CLOUD_URL  # filled in from the stack name
    assert splunkd.passwords["cloudtrail_firehose:acs_token:"] == JWT
    assert JWT not in json.dumps(splunkd.conf)

    checks = check(service, splunkd)
    assert "deploy creates the HEC token cloudtrail_firehose on stack acme" in checks["ACS"]["detail"]
    caveat = checks["Splunk Cloud Firehose endpoint"]
    assert caveat["ok"] is None
    assert "Splunk Support" in caveat["detail"]
    assert "http-inputs-firehose-acme" in caveat["detail"]
    assert acs.tokens == {}  # Check creates nothing

    job = deploy(service, splunkd, CLOUD)
    assert job["state"] == "succeeded", job["error"]
    made = acs.tokens["cloudtrail_firehose"]
    assert (made["useACK"], made["allowedIndexes"]) == (True, ["aws_cloudtrail"])
    assert made["defaultIndex"] == "aws_cloudtrail"
    assert (made["defaultSource"], made["defaultSourcetype"]) == ("http:cloudtrail_firehose", "aws:cloudtrail")
    assert token_in_aws(job["result"]["outputs"]) == made["token"]
    parameters = boto3.client("cloudformation", "us-east-1").describe_stacks(StackName="cloudtrail-firehose")
    assert {"ParameterKey": "HecUrl", "ParameterValue": CLOUD_URL} in parameters["Stacks"][0]["Parameters"]
    assert any("Splunk Support" in line for line in job["progress"])

    again = deploy(service, splunkd, {k: v for k, v in CLOUD.items() if k != "acs_token"})
    assert any("cloudtrail_firehose reused" in line for line in again["progress"]), again["progress"]
    rotated = deploy(service, splunkd, CLOUD, rotate_token=True)
    assert rotated["state"] == "succeeded", rotated["error"]
    # The new token is made first; the old one works until Firehose can only hold the new one.
    [(seconds, alive)] = acs.waited
    assert 600 <= seconds <= 900
    assert alive == ["cloudtrail_firehose", "cloudtrail_firehose-2"]
    assert sorted(acs.tokens) == ["cloudtrail_firehose-2"]
    assert token_in_aws(rotated["result"]["outputs"]) == acs.tokens["cloudtrail_firehose-2"]["token"]

    # The rotated token is the app's token now: the next deploy reuses it, it makes no new cloudtrail_firehose.
    after = deploy(service, splunkd, {k: v for k, v in CLOUD.items() if k != "acs_token"})
    assert any("cloudtrail_firehose-2 reused" in line for line in after["progress"]), after["progress"]
    assert sorted(acs.tokens) == ["cloudtrail_firehose-2"]
    assert token_in_aws(after["result"]["outputs"]) == acs.tokens["cloudtrail_firehose-2"]["token"]
    assert len(acs.waited) == 1


@pytest.mark.parametrize(("fault", "words"), [
    ("expired ACS token", ["401", "Create a new authentication token"]),
    ("no capability", ["403", "sc_admin"]),
    ("ACS internal error", ["500", "single-instance"]),
    ("wrong stack", ["404", "Check the stack name"]),
])  # fmt: skip
def test_an_acs_error_stops_the_deploy_before_aws(world, fault, words):
    service, splunkd, _, acs = world
    form = CLOUD
    if fault == "expired ACS token":
        form = CLOUD | {"acs_token": "eyJexpired.token.value"}
    elif fault == "no capability":
        acs.fail(403, "403-forbidden", "user lacks capability", times=3)
    elif fault == "ACS internal error":
        acs.fail(500, "500-internal-server-error", "internal error", times=3)
    else:
        form = CLOUD | {"splunk_cloud_stack": "acme-typo"}
    assert_nothing_deployed(deploy(service, splunkd, form), "ACS answered", *words)
    assert acs.tokens == {}


def test_splunk_cloud_needs_a_valid_stack_name_and_an_acs_token(world):
    service, splunkd, _, _ = world
    status, answer = call(service, splunkd, "POST", "config", CLOUD | {"splunk_cloud_stack": "Acme.splunkcloud.com",
                                                                       "acs_token": ""})  # fmt: skip
    assert status == 400
    fields = [p.split(":")[0] for p in answer["problems"]]
    assert fields == ["splunk_cloud_stack", "acs_token"], answer  # and no hec_url: the stack says it
    assert splunkd.conf == {}


# --- this Splunk instance ---------------------------------------------------------------------------


def test_an_index_only_on_the_indexers_does_not_stop_a_local_deploy(world):
    service, splunkd, _, _ = world
    splunkd.local_hec = True
    job = deploy(service, splunkd, FORM)
    assert job["state"] == "succeeded", job["error"]
    assert any("index aws_cloudtrail exists on idx1, idx2" in line for line in job["progress"])
    assert splunkd.hec_inputs["cloudtrail_firehose"]["source"] == "http:cloudtrail_firehose"


@pytest.mark.slow
def test_an_index_that_cannot_be_confirmed_is_a_warning(world):
    service, splunkd, _, _ = world
    splunkd.local_hec, splunkd.rest_allowed = True, False
    call(service, splunkd, "POST", "config", FORM)
    index = check(service, splunkd)["Splunk index"]
    assert index["ok"] is None
    assert "Could not confirm index aws_cloudtrail" in index["detail"]
    assert deploy(service, splunkd, FORM)["state"] == "succeeded"


def test_an_index_found_nowhere_stops_the_deploy_before_aws(world):
    service, splunkd, _, _ = world
    splunkd.local_hec = True
    assert_nothing_deployed(deploy(service, splunkd, FORM | {"index": "no_such_index"}),
                            "index no_such_index exists on none of the 2 indexers")  # fmt: skip


@pytest.mark.slow
def test_local_delivery_on_a_splunkd_without_hec_says_which_choice_to_make(world):
    service, splunkd, _, _ = world
    call(service, splunkd, "POST", "config", FORM)
    assert check(service, splunkd)["HEC on this instance"]["ok"] is False
    assert_nothing_deployed(deploy(service, splunkd, FORM), "offers no HTTP Event Collector inputs",
                            "An existing HEC token on another tier")  # fmt: skip


# --- Remove: the tokens go with the stream ----------------------------------------------------------


def remove(service, splunkd, **body) -> dict:
    job = wait(service, splunkd, call(service, splunkd, "POST", "remove", body)[1]["job"])
    assert job["state"] == "succeeded", job["error"]
    assert stacks() == []
    return job


@pytest.mark.slow
def test_remove_deletes_the_acs_tokens_it_made_once_the_stack_is_gone(world):
    service, splunkd, _, acs = world
    assert deploy(service, splunkd, CLOUD)["state"] == "succeeded"
    assert deploy(service, splunkd, CLOUD, rotate_token=True)["state"] == "succeeded"
    acs.seed("someone_elses_token", useACK=True)
    job = remove(service, splunkd, delete_data=True)
    assert sorted(acs.tokens) == ["someone_elses_token"]  # only the app's own
    assert any("Deleted the Splunk Cloud HEC token(s) cloudtrail_firehose-2 through ACS" in line
               for line in job["progress"]), job["progress"]  # fmt: skip
    assert splunkd.inputs["firehose_recovery"]["cloudtrail-firehose"]["disabled"] == "1"  # its bucket is gone
    assert "cloudtrail_firehose:acs_token:" in splunkd.passwords  # kept for a later deploy


@pytest.mark.slow
def test_an_acs_error_on_remove_is_a_warning_after_the_stack_is_gone(world):
    service, splunkd, _, acs = world
    assert deploy(service, splunkd, CLOUD)["state"] == "succeeded"
    acs.fail(403, "403-forbidden", "user lacks capability", times=3)
    job = remove(service, splunkd)
    # One warning per source (remove cleans up every source's tokens), each naming the tokens to delete by hand.
    warnings = [line for line in job["progress"] if line.startswith("warning: the app's Splunk Cloud HEC tokens")]
    assert len(warnings) == 2
    assert all("403" in w for w in warnings)
    assert "delete cloudtrail_firehose and" in warnings[0]
    assert "delete cloudtrail_firehose_vpcflow and" in warnings[1]
    assert sorted(acs.tokens) == ["cloudtrail_firehose"]


@pytest.mark.slow
def test_remove_forgets_the_copy_of_an_existing_token_and_leaves_the_token_alone(world):
    service, splunkd, hec, _ = world
    token = hec.add_token()
    assert deploy(service, splunkd, existing(hec, token))["state"] == "succeeded"
    job = remove(service, splunkd)
    assert "cloudtrail_firehose:hec_token:" not in splunkd.passwords
    assert any("delete it there once nothing else uses it" in line for line in job["progress"])
    assert check_hec_token(hec_url(hec), token, cafile=str(hec.cert), timeout=5).ok  # still works on its tier


# --- one class per choice, one rotation rule, one naming rule ---------------------------------------


def made_tokens(choice: str, splunkd, acs) -> list[str]:
    return sorted(splunkd.hec_inputs if choice == "local" else acs.tokens)


def client(splunkd: FakeSplunkd) -> Splunkd:
    return Splunkd(splunkd.url, ADMIN_TOKEN)


@pytest.mark.parametrize("choice", ["local", "cloud"])
def test_the_choices_that_make_tokens_check_prepare_rotate_retire_and_remove_them(world, choice):
    service, splunkd, _, acs = world
    splunkd.local_hec = True
    splunkd.passwords["cloudtrail_firehose:acs_token:"] = JWT
    config = {"delivery": choice, "index": "aws_cloudtrail", "hec_url": FORM["hec_url"], "splunk_cloud_stack": "acme"}
    clock = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    waits: list[float] = []
    chosen = delivery_for(config, dataclasses.replace(service.tools, sleep=waits.append, now=lambda: clock))
    lines: list[str] = []
    here = client(splunkd)

    assert [c["ok"] for c in chosen.check(here)][0] is True
    assert made_tokens(choice, splunkd, acs) == []  # Check changes nothing
    first = chosen.prepare(here, False, lines.append)
    assert (first.name, first.hec_url) == ("cloudtrail_firehose", chosen.hec_url())
    assert chosen.prepare(here, False, lines.append) == first  # reused
    rotated = chosen.prepare(here, True, lines.append)
    assert rotated.name == "cloudtrail_firehose-2"
    assert rotated.token not in ("", first.token)
    assert made_tokens(choice, splunkd, acs) == ["cloudtrail_firehose", "cloudtrail_firehose-2"]

    # The secret changed 6 minutes before this clock: the old token has 9 minutes left, then goes. botocore
    # reads the secret's LastChangedDate in the server's time zone; the progress line says UTC.
    settled = (clock + timedelta(minutes=9)).astimezone(timezone(timedelta(hours=2)))
    retired = chosen.retire(here, rotated, lines.append, settled_at=lambda: settled)
    assert (retired, waits) == (["cloudtrail_firehose"], [540.0])
    assert made_tokens(choice, splunkd, acs) == ["cloudtrail_firehose-2"]
    assert any("until 12:09 UTC" in line for line in lines), lines
    assert chosen.retire(here, rotated, lines.append, settled_at=pytest.fail) == []  # nothing old: AWS unasked

    chosen.remove(here, lines.append)
    assert made_tokens(choice, splunkd, acs) == []
    assert any(line.startswith("Deleted the") and "cloudtrail_firehose-2" in line for line in lines), lines


def test_an_existing_token_is_checked_and_handed_over_but_never_retired_or_deleted(world):
    service, splunkd, hec, _ = world
    token = hec.add_token()
    splunkd.passwords["cloudtrail_firehose:hec_token:"] = token
    chosen = delivery_for({"delivery": "existing", "index": "aws_cloudtrail", "hec_url": hec_url(hec)}, service.tools)
    lines: list[str] = []
    here = client(splunkd)
    assert chosen.check(here)[0]["ok"] is True
    prepared = chosen.prepare(here, True, lines.append)
    assert (prepared.token, prepared.hec_url, prepared.name) == (token, hec_url(hec), "")
    assert any("rotate the token on the HEC tier" in line for line in lines)
    assert chosen.retire(here, prepared, lines.append, settled_at=pytest.fail) == []
    chosen.remove(here, lines.append)
    assert "cloudtrail_firehose:hec_token:" not in splunkd.passwords
    assert check_hec_token(hec_url(hec), token, cafile=str(hec.cert), timeout=5).ok


def test_an_unknown_choice_is_refused():
    with pytest.raises(ValueError, match="'carrier pigeon' is not one of local, existing, cloud"):
        delivery_for({"delivery": "carrier pigeon"})


@pytest.mark.parametrize("choice", ["local", "cloud"])
def test_an_old_token_goes_15_minutes_after_the_secret_changed_whatever_the_choice(world, choice):
    """Amazon Data Firehose Developer Guide, "Use the secret": Firehose refreshes its copy of the secret every
    10 minutes. The wait is counted from the secret's LastChangedDate for this instance and for ACS alike (it
    was a fixed 15 minutes after the deploy for ACS): with the clock 6 minutes past the change, 9 are left."""
    service, splunkd, _, acs = world
    splunkd.local_hec = True
    service.tools = dataclasses.replace(service.tools, now=lambda: datetime.now(timezone.utc) + timedelta(minutes=6))
    form = FORM if choice == "local" else CLOUD
    assert deploy(service, splunkd, form)["state"] == "succeeded"
    rotated = deploy(service, splunkd, form, rotate_token=True)
    assert rotated["state"] == "succeeded", rotated["error"]
    [(seconds, _)] = acs.waited
    assert 8 * 60 < seconds <= 9 * 60
    assert made_tokens(choice, splunkd, acs) == ["cloudtrail_firehose-2"]


def test_a_failed_cloud_rotation_is_finished_by_the_next_deploy_that_succeeds(world, monkeypatch):
    """As on this instance: a failed deploy deletes nothing; the next one that succeeds hands Firehose the
    newest token and retires the old one after the wait (it used to hand back the old one and keep both)."""
    service, splunkd, _, acs = world
    assert deploy(service, splunkd, CLOUD)["state"] == "succeeded"
    first = acs.tokens["cloudtrail_firehose"]["token"]

    def fail(*args, **kwargs):
        raise PipelineError("deploy failed at DeliveryStream: Rate exceeded. fix the cause, then run apply again.")

    with monkeypatch.context() as patched:
        patched.setattr("cloudtrail_firehose.aws.change_sets.converge", fail)
        assert deploy(service, splunkd, CLOUD, rotate_token=True)["state"] == "failed"
    assert sorted(acs.tokens) == ["cloudtrail_firehose", "cloudtrail_firehose-2"]
    assert acs.tokens["cloudtrail_firehose"]["token"] == first
    assert acs.waited == []

    retry = deploy(service, splunkd, CLOUD)
    assert retry["state"] == "succeeded", retry["error"]
    [(seconds, alive)] = acs.waited
    assert 600 <= seconds <= 900
    assert alive == ["cloudtrail_firehose", "cloudtrail_firehose-2"]
    assert sorted(acs.tokens) == ["cloudtrail_firehose-2"]
    assert token_in_aws(retry["result"]["outputs"]) == acs.tokens["cloudtrail_firehose-2"]["token"]


def test_rotated_tokens_are_named_alike_here_and_through_acs_and_old_local_names_are_cleaned_up(world):
    """An earlier version named local rotations cloudtrail_firehose_<n>; ACS named them cloudtrail_firehose-<n>.
    Both now get -<n>, and what the earlier version left here is used, then retired and removed."""
    service, splunkd, _, _ = world
    splunkd.local_hec = True
    assert deploy(service, splunkd, FORM)["state"] == "succeeded"
    # What the earlier version left after a rotation whose deploy failed: the newest is the one to use.
    splunkd.hec_inputs["cloudtrail_firehose_2"] = dict(splunkd.hec_inputs["cloudtrail_firehose"], token="old-form")
    job = deploy(service, splunkd, FORM)
    assert job["state"] == "succeeded", job["error"]
    assert token_in_aws(job["result"]["outputs"]) == "old-form"
    assert sorted(splunkd.hec_inputs) == ["cloudtrail_firehose_2"]

    rotated = deploy(service, splunkd, FORM, rotate_token=True)
    assert rotated["state"] == "succeeded", rotated["error"]
    assert sorted(splunkd.hec_inputs) == ["cloudtrail_firehose-3"]
    splunkd.hec_inputs["cloudtrail_firehose_2"] = {"token": "left-behind"}
    job = remove(service, splunkd)
    assert splunkd.hec_inputs == {}
    assert any("cloudtrail_firehose_2, cloudtrail_firehose-3" in line for line in job["progress"]), job["progress"]
