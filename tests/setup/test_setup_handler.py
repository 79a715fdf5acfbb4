"""The setup handler against moto (AWS) and a fake splunkd over HTTP: what is stored where, who may
call it, and that no secret lands in any file or log."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import moto_shims  # noqa: F401 - CloudFormation resources moto lacks
import pytest
from cloudtrail_firehose.aws.errors import PipelineError
from cloudtrail_firehose.setup.handler import answer_splunk
from cloudtrail_firehose.setup.requests import parse_body, parse_request
from fake_splunkd import ADMIN_TOKEN, USER_TOKEN
from setup_client import FORM, KEY_ID, SECRET, call, stored_token, wait

ROOT = Path(__file__).resolve().parents[2]








def test_users_without_the_capability_are_refused_everything(setup):
    service, splunkd = setup
    for method, path in (("GET", "config"), ("POST", "config"), ("POST", "deploy"), ("GET", "status"),
                         ("POST", "remove"), ("GET", "template"), ("POST", "drift")):  # fmt: skip
        status, body = call(service, splunkd, method, path, FORM, token=USER_TOKEN)
        assert status == 403
        assert "lacks the capability cloudtrail_firehose_admin" in body["error"]
    assert splunkd.conf == {}
    assert splunkd.passwords == {}


def test_the_secret_key_goes_to_storage_passwords_only(setup):
    service, splunkd = setup
    status, body = call(service, splunkd, "POST", "config", FORM)
    assert status == 200, body
    assert splunkd.passwords == {"cloudtrail_firehose:aws_secret_access_key:": SECRET}
    assert SECRET not in json.dumps(splunkd.conf)
    assert splunkd.conf["pipeline"]["aws_access_key_id"] == KEY_ID
    status, body = call(service, splunkd, "GET", "config")
    assert body["has_secret"] is True
    assert SECRET not in json.dumps(body)


def test_saving_without_the_secret_keeps_the_stored_one(setup):
    service, splunkd = setup
    call(service, splunkd, "POST", "config", FORM)
    without = {k: v for k, v in FORM.items() if k != "aws_secret_access_key"} | {"retry_duration": "600"}
    status, _ = call(service, splunkd, "POST", "config", without)
    assert status == 200
    assert splunkd.passwords["cloudtrail_firehose:aws_secret_access_key:"] == SECRET
    assert splunkd.conf["pipeline"]["retry_duration"] == "600"


def test_bad_fields_come_back_with_what_to_do(setup):
    service, splunkd = setup
    bad = FORM | {"hec_url": "https://10.1.2.3:8088", "aws_access_key_id": "nope", "index": ""}
    status, body = call(service, splunkd, "POST", "config", bad)
    assert status == 400
    text = "\n".join(body["problems"])
    assert "uses an IP address" in text
    assert "aws_access_key_id" in text
    assert "index: choose the Splunk index" in text
    assert splunkd.conf == {}


def test_a_hec_url_no_connection_could_use_is_refused_at_save(setup):
    """Issue 21, point 4: a 64-character DNS label passed the save, then raised "'idna' codec ... label too
    long" in Check; the save now uses the check every outward call makes (urls.parse_url)."""
    service, splunkd = setup
    status, body = call(service, splunkd, "POST", "config", FORM | {"hec_url": f"https://{'h' * 64}.example.com"})
    assert status == 400
    assert any(p.startswith("hec_url:") and "at most 63" in p for p in body["problems"])
    assert splunkd.conf == {}


def test_deploying_before_configuring_says_what_to_do(setup):
    service, splunkd = setup
    status, body = call(service, splunkd, "POST", "deploy", {})
    assert status == 409
    assert body["what_to_do"] == "fill in the form and save it first"




@pytest.mark.slow
def test_check_preview_deploy_status_remove(setup):
    service, splunkd = setup
    call(service, splunkd, "POST", "config", FORM)

    status, body = call(service, splunkd, "POST", "check", {})
    assert status == 200
    checks = {c["name"]: c for c in wait(service, splunkd, body["job"])["result"]}
    assert checks["AWS identity"]["ok"] is True
    assert checks["Splunk index"]["ok"] is True

    preview = wait(service, splunkd, call(service, splunkd, "POST", "preview", {})[1]["job"])
    assert preview["state"] == "succeeded"
    assert "+ create  AWS::KinesisFirehose::DeliveryStream" in preview["result"]["text"]

    deploy = wait(service, splunkd, call(service, splunkd, "POST", "deploy", {})[1]["job"])
    assert deploy["state"] == "succeeded", deploy["error"]
    assert splunkd.hec_enabled
    hec_input = splunkd.hec_inputs["cloudtrail_firehose"]
    assert (hec_input["index"], hec_input["useACK"]) == ("aws_cloudtrail", "1")
    assert hec_input["sourcetype"] == "aws:cloudtrail"
    secret_arn = deploy["result"]["outputs"]["HecTokenSecretArn"]
    assert stored_token(secret_arn) == hec_input["token"]
    assert splunkd.macros["cloudtrail_firehose_events"] == '(index="aws_cloudtrail" sourcetype="aws:cloudtrail")'
    assert any("Dashboards now read CloudTrail from index aws_cloudtrail" in line for line in deploy["progress"])
    recovery = splunkd.inputs["firehose_recovery"]["cloudtrail-firehose"]
    assert recovery["bucket"] == deploy["result"]["outputs"]["FailedDeliveryBucketName"]
    assert (recovery["region"], recovery["index"], recovery["disabled"]) == ("us-east-1", "aws_cloudtrail", "0")
    assert splunkd.inputs["firehose_health"]["cloudtrail-firehose"]["name_prefix"] == "cloudtrail-firehose"
    assert splunkd.app_configured  # Splunk Web stops opening the setup page

    # Re-running setup keeps the token; rotating makes a new one and hands it to Firehose.
    first_token = hec_input["token"]
    wait(service, splunkd, call(service, splunkd, "POST", "deploy", {})[1]["job"])
    assert splunkd.hec_inputs["cloudtrail_firehose"]["token"] == first_token
    assert service.waited == []
    rotation = wait(service, splunkd, call(service, splunkd, "POST", "deploy", {"rotate_token": True})[1]["job"])
    assert rotation["state"] == "succeeded", rotation["error"]
    rotated = splunkd.hec_inputs["cloudtrail_firehose-2"]["token"]
    assert rotated != first_token
    assert stored_token(secret_arn) == rotated
    # Make before break: while Firehose's 10-minute secret cache may still hold the old token, both work.
    [(seconds, inputs_while_waiting, secret_while_waiting)] = service.waited
    assert 600 <= seconds <= 900
    assert inputs_while_waiting == {"cloudtrail_firehose", "cloudtrail_firehose-2"}
    assert secret_while_waiting == rotated
    assert set(splunkd.hec_inputs) == {"cloudtrail_firehose-2"}
    assert splunkd.hec_inputs["cloudtrail_firehose-2"]["source"] == "http:cloudtrail_firehose"  # props.conf's stanza

    # Every member reads the jobs from the KV store: their progress and results, never a secret or token.
    stored = list(splunkd.kv["cloudtrail_firehose_jobs"].values())
    assert [d["state"] for d in stored if d["kind"] == "deploy"] == ["succeeded"] * 3
    read = "Dashboards now read CloudTrail from index aws_cloudtrail"
    assert any(read in line for d in stored for line in d["progress"])
    for document in map(json.dumps, stored):
        assert SECRET not in document
        assert first_token not in document
        assert rotated not in document

    status, body = call(service, splunkd, "GET", "status")
    assert body["status"]["delivery_streams"] == {"cloudtrail": "ACTIVE"}
    status, body = call(service, splunkd, "GET", "template")
    assert "AWS::KinesisFirehose::DeliveryStream" in body["template"]

    removal = wait(service, splunkd, call(service, splunkd, "POST", "remove", {})[1]["job"])
    assert removal["state"] == "succeeded"
    assert len(removal["result"]["kept_buckets"]) == 2
    # With the stream gone, its token goes too; recovery keeps draining the kept bucket, health stops.
    assert splunkd.hec_inputs == {}
    assert any("Deleted the HEC input(s) cloudtrail_firehose-2" in line for line in removal["progress"])
    assert splunkd.inputs["firehose_health"]["cloudtrail-firehose"]["disabled"] == "1"
    assert splunkd.inputs["firehose_recovery"]["cloudtrail-firehose"]["disabled"] == "0"
    assert splunkd.passwords == {"cloudtrail_firehose:aws_secret_access_key:": SECRET}  # a redeploy needs it

    # No secret in anything the app wrote: its logs, and the app's own files.
    written = [p for p in Path(service.jobs._log.handlers[0].baseFilename).parent.rglob("*") if p.is_file()]
    for folder in ("default", "metadata", "lookups", "appserver", "bin", "README", "package"):
        written += [p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert written
    for path in written:
        text = path.read_text(errors="replace")
        assert SECRET not in text, path
        assert first_token not in text, path
        assert rotated not in text, path


@pytest.mark.slow
def test_a_failed_deploy_never_removes_the_old_token(setup, monkeypatch):
    service, splunkd = setup
    call(service, splunkd, "POST", "config", FORM)
    assert wait(service, splunkd, call(service, splunkd, "POST", "deploy", {})[1]["job"])["state"] == "succeeded"
    first_token = splunkd.hec_inputs["cloudtrail_firehose"]["token"]

    def fail(*args, **kwargs):
        raise PipelineError("deploy failed at DeliveryStream: Rate exceeded. fix the cause, then run apply again.")

    with monkeypatch.context() as patched:
        patched.setattr("cloudtrail_firehose.aws.change_sets.converge", fail)
        rotation = wait(service, splunkd, call(service, splunkd, "POST", "deploy", {"rotate_token": True})[1]["job"])
    assert rotation["state"] == "failed"
    assert set(splunkd.hec_inputs) == {"cloudtrail_firehose", "cloudtrail_firehose-2"}
    assert splunkd.hec_inputs["cloudtrail_firehose"]["token"] == first_token
    assert service.waited == []

    # The next deploy that succeeds finishes the rotation: the newest token stays, after the wait.
    retry = wait(service, splunkd, call(service, splunkd, "POST", "deploy", {})[1]["job"])
    assert retry["state"] == "succeeded", retry["error"]
    assert set(splunkd.hec_inputs) == {"cloudtrail_firehose-2"}
    assert stored_token(retry["result"]["outputs"]["HecTokenSecretArn"]) == splunkd.hec_inputs[
        "cloudtrail_firehose-2"]["token"]  # fmt: skip
    assert len(service.waited) == 1


def test_a_role_to_assume_is_used_with_its_external_id(setup):
    service, splunkd = setup
    role = FORM | {"aws_auth": "role", "aws_role_arn": "arn:aws:iam::123456789012:role/splunk-setup",
                   "aws_external_id": "splunk-42"}  # fmt: skip
    del role["aws_access_key_id"], role["aws_secret_access_key"]
    status, body = call(service, splunkd, "POST", "config", role)
    assert status == 200, body
    assert splunkd.passwords == {}
    before = len(splunkd.requests)
    check = wait(service, splunkd, call(service, splunkd, "POST", "check", {})[1]["job"])
    identity = next(c for c in check["result"] if c["name"] == "AWS identity")
    assert ":assumed-role/splunk-setup/cloudtrail-firehose-setup" in identity["detail"]
    assert [path for _, path, _ in splunkd.requests[before:] if "storage/passwords" in path] == []


def test_a_missing_index_stops_the_deploy_before_aws(setup):
    service, splunkd = setup
    call(service, splunkd, "POST", "config", FORM | {"index": "no_such_index"})
    deploy = wait(service, splunkd, call(service, splunkd, "POST", "deploy", {})[1]["job"])
    assert deploy["state"] == "failed"
    assert "index no_such_index does not exist on sh1, a standalone instance (no search peers)" in deploy["error"]
    assert boto3.client("cloudformation", "us-east-1").list_stacks()["StackSummaries"] == []


def test_vpc_flow_logs_alone_use_their_own_index_for_everything(setup):
    """CloudTrail off: no CloudTrail token or secret, and the app's own health and recovery events go to the
    flow logs' index (CloudTrail's default index, aws_cloudtrail, need not exist)."""
    service, splunkd = setup
    splunkd.indexes = {"main", "aws_vpcflow"}
    vpc = boto3.client("ec2", region_name="us-east-1").create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    form = {k: v for k, v in FORM.items() if k != "index"}  # hidden on the page, so not sent
    status, _ = call(service, splunkd, "POST", "config", form | {"collect_cloudtrail": "false", "vpc_ids": vpc,
                                                                 "collect_vpc_flow_logs": "true",
                                                                 "vpcflow_index": "aws_vpcflow"})
    assert status == 200
    deploy = wait(service, splunkd, call(service, splunkd, "POST", "deploy", {})[1]["job"])
    assert deploy["state"] == "succeeded", deploy["error"]
    assert set(splunkd.hec_inputs) == {"cloudtrail_firehose_vpcflow"}
    assert deploy["result"]["streams"] == {"VPC Flow Logs": "cloudtrail-firehose-vpcflow"}
    assert splunkd.inputs["firehose_recovery"]["cloudtrail-firehose"]["index"] == "aws_vpcflow"
    assert splunkd.inputs["firehose_health"]["cloudtrail-firehose"]["index"] == "aws_vpcflow"
    assert 'index="aws_vpcflow"' in splunkd.macros["cloudtrail_firehose_pipeline"]


def test_two_deploys_never_run_at_once(setup, monkeypatch):
    service, splunkd = setup
    call(service, splunkd, "POST", "config", FORM)
    release = __import__("threading").Event()
    monkeypatch.setattr("cloudtrail_firehose.setup.handler.pipeline.ensure_pipeline",
                        lambda *a, **k: release.wait(10) and {})  # fmt: skip
    first = call(service, splunkd, "POST", "deploy", {})
    second = call(service, splunkd, "POST", "deploy", {})
    release.set()
    assert first[0] == 200
    assert second[0] == 409
    assert "already running" in second[1]["error"]


def test_the_request_splunk_hands_the_handler_is_parsed():
    raw = json.dumps({
        "method": "post", "path_info": "/deploy", "query": [["since", "3"]], "payload": '{"rotate_token": true}',
        "server": {"rest_uri": "https://127.0.0.1:8089"}, "session": {"authtoken": "abc", "user": "admin"},
    })  # fmt: skip
    request = parse_request(raw)
    assert (request["method"], request["path"], request["query"]) == ("POST", "/deploy", {"since": "3"})
    assert request["payload"] == '{"rotate_token": true}'  # parsed only once the caller is authorized
    assert parse_body(request["payload"]) == {"rotate_token": True}


def test_the_index_is_checked_by_splunks_rules_before_it_reaches_a_macro(setup):
    service, splunkd = setup
    for index in ('aws" OR index=*', "_internal", "Main", "x" * 256, "a\nb"):
        status, body = call(service, splunkd, "POST", "config", FORM | {"index": index})
        assert status == 400, index
        assert any(p.startswith("index:") for p in body["problems"]), body
    assert splunkd.conf == {}
    # Even a hand-edited conf file cannot get a bad index into the macros.
    call(service, splunkd, "POST", "config", FORM)
    splunkd.conf["pipeline"]["index"] = 'aws" OR index=*'
    status, body = call(service, splunkd, "POST", "deploy", {})
    assert status == 400
    assert "index:" in body["problems"][0]
    assert splunkd.macros["cloudtrail_firehose_events"] == '(index=* sourcetype="aws:cloudtrail")'  # untouched


@pytest.mark.parametrize("field", ["custom_filter_pattern", "aws_external_id", "hec_url", "aws_access_key_id"])
@pytest.mark.parametrize("bad", ["x\n[pipeline]\nindex = main", "x\rindex=main", "x\u2028y", "xy\\"])
def test_no_saved_value_carries_a_line_break_or_a_stanza(setup, field, bad):
    service, splunkd = setup
    form = FORM | {"filter_preset": "custom", "aws_auth": "role", "aws_role_arn": "arn:aws:iam::123456789012:role/r"}
    status, body = call(service, splunkd, "POST", "config", form | {field: bad})
    assert status == 400
    assert any(p.startswith(f"{field}:") for p in body["problems"]), body
    assert splunkd.conf == {}


def test_saved_values_are_written_as_the_schema_writes_them(setup):
    service, splunkd = setup
    status, _ = call(service, splunkd, "POST", "config", FORM | {"multi_region": "no", "retry_duration": " 600 "})
    assert status == 200
    assert (splunkd.conf["pipeline"]["multi_region"], splunkd.conf["pipeline"]["retry_duration"]) == ("false", "600")


def test_the_schema_is_served_to_the_page(setup):
    service, splunkd = setup
    status, body = call(service, splunkd, "GET", "schema")
    assert status == 200
    assert "index" in [s["name"] for s in body["settings"]]
    assert call(service, splunkd, "GET", "schema", token=USER_TOKEN)[0] == 403


@pytest.mark.slow
def test_get_status_starts_no_drift_detection_and_the_drift_action_does(setup, monkeypatch):
    service, splunkd = setup
    detections = []
    monkeypatch.setattr("cloudtrail_firehose.aws.pipeline._drift", lambda cfn, name, sleep: detections.append(name)
                        or "IN_SYNC")  # fmt: skip
    call(service, splunkd, "POST", "config", FORM)
    assert wait(service, splunkd, call(service, splunkd, "POST", "deploy", {})[1]["job"])["state"] == "succeeded"
    status, body = call(service, splunkd, "GET", "status")
    assert status == 200
    assert body["status"]["drift"] == "NOT_CHECKED"
    assert detections == []
    drift = wait(service, splunkd, call(service, splunkd, "POST", "drift", {})[1]["job"])
    assert drift["state"] == "succeeded", drift["error"]
    assert drift["result"]["status"]["drift"] == "IN_SYNC"
    assert detections == ["cloudtrail-firehose"]
    assert call(service, splunkd, "GET", "drift")[0] == 404  # never on a GET


HOSTILE_BODIES = {
    "deeply nested": "[" * 20_000 + "]" * 20_000,  # under the size bound: the depth bound answers
    "nested in a field": json.dumps({"index": {"a": {"b": {"c": [[[1]]]}}}}),
    "huge number": '{"hec_ack_timeout": ' + "9" * 5000 + "}",
    "huge body": json.dumps({"index": "x" * 200_000}),
    "not json": "{index=main",
    "not an object": "[1, 2]",
    "NaN": '{"hec_ack_timeout": NaN}',
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_hostile_bodies_get_a_clear_4xx_and_only_after_the_capability_check(setup, name):
    service, splunkd = setup
    body = HOSTILE_BODIES[name]
    status, answer = call(service, splunkd, "POST", "config", body, token=USER_TOKEN)
    assert status == 403, answer  # not even parsed for a user without the capability
    status, answer = call(service, splunkd, "POST", "config", body)
    assert 400 <= status < 500, answer
    assert answer["error"]
    assert answer["what_to_do"]
    assert splunkd.conf == {}


def test_a_field_that_is_an_object_is_refused(setup):
    service, splunkd = setup
    status, body = call(service, splunkd, "POST", "config", json.dumps(FORM | {"region": {"$ne": 1}}))
    assert status == 400
    assert "region" in body["error"]


def test_an_envelope_too_large_for_any_form_is_refused_before_anything_else(setup):
    service, _ = setup
    answer = answer_splunk(service, json.dumps({"payload": "x" * 300_000, "session": {"authtoken": USER_TOKEN}}))
    assert answer["status"] == 413
    assert answer_splunk(service, "not json")["status"] == 400


def test_the_bin_entry_point_hands_splunk_requests_to_the_service(setup, monkeypatch):
    """bin/cloudtrail_firehose_setup.py with a stand-in for Splunk's persistconn module."""
    import importlib
    import sys
    import types

    service, splunkd = setup
    application = types.ModuleType("splunk.persistconn.application")
    application.PersistentServerConnectionApplication = type("Base", (), {"__init__": lambda self: None})
    for name, module in (("splunk", types.ModuleType("splunk")), ("splunk.persistconn", types.ModuleType("p")),
                         ("splunk.persistconn.application", application)):  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.syspath_prepend(str(ROOT / "bin"))
    entry = importlib.import_module("cloudtrail_firehose_setup")
    monkeypatch.setattr(entry, "SERVICE", service)
    request = {"method": "GET", "path_info": "/config", "server": {"rest_uri": splunkd.url},
               "session": {"authtoken": ADMIN_TOKEN}}  # fmt: skip
    answer = entry.SetupHandler("", "").handle(json.dumps(request))
    assert answer["status"] == 200
    assert json.loads(answer["payload"]) == {"config": {}, "has_secret": False, "secrets": []}


def test_odd_requests_get_answers_not_tracebacks(setup):
    service, splunkd = setup
    assert call(service, splunkd, "GET", "nothing-here")[0] == 404
    assert call(service, splunkd, "GET", "jobs/unknown")[0] == 404
    status, body = call(service, splunkd, "POST", "config", {"colour": "blue"})
    assert (status, body["error"]) == (400, "unknown fields: colour")
    call(service, splunkd, "POST", "config", FORM)
    job = call(service, splunkd, "POST", "preview", {})[1]["job"]
    assert call(service, splunkd, "GET", f"jobs/{job['id']}", query={"since": "not-a-number"})[0] == 200
    wait(service, splunkd, job)
