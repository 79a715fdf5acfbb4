"""Search time: the fields analysts and security content expect, computed from the shipped files.

splunk_search.SearchTime applies props.conf, transforms.conf, the lookups, eventtypes.conf and
tags.conf in Splunk's order to each corpus event (no Splunk runs here).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import os
from pathlib import Path

import pytest
from corpus import CORPUS, cloudtrail_events, data_sources, event_named
from splunk_search import EXTRACTION_CUTOFF, SearchTime, json_paths, kv_json, raw_of

ROOT = Path(__file__).resolve().parents[2]
SEARCH_TIME = SearchTime.load(ROOT)

# Fields every Splunk event has, whatever its configuration.
SPLUNK_DEFAULT_FIELDS = {
    "_time", "_raw", "host", "index", "source", "sourcetype", "splunk_server", "splunk_server_group",
    "linecount", "punct", "timestartpos", "timeendpos", "date_hour", "date_mday", "date_minute",
    "date_month", "date_second", "date_wday", "date_year", "date_zone",
}  # fmt: skip

# What the Splunk Add-on for AWS reaches by the same static measure (2671 of 2679).
ADDON_COVERAGE = 2671


def fields(event: dict) -> dict[str, list[str]]:
    return SEARCH_TIME.fields_of(event)


def one(event_fields: dict, name: str) -> str | None:
    values = event_fields.get(name)
    return values[0] if values else None


# --- what analysts see -------------------------------------------------------------------------


def test_failed_console_login_is_a_failed_authentication():
    event = event_named("ConsoleLogin", lambda e: e.get("errorMessage") == "Failed authentication")
    f = fields(event)
    assert one(f, "action") == "failure"
    assert one(f, "status") == "failure"
    assert one(f, "errorCode") == "failure"  # sign-in failures carry no errorCode of their own
    assert one(f, "reason") == "Failed authentication"
    assert one(f, "result") == "authentication failed"
    assert "authentication" in f["tag"]
    assert "failure" in f["tag"]
    assert one(f, "user") == event["userIdentity"].get("userName") or one(f, "user")
    assert one(f, "app") == "signin.amazonaws.com"
    assert one(f, "src") == event["sourceIPAddress"]


def test_successful_root_console_login_with_uppercase_mfa_flag():
    event = event_named("ConsoleLogin", lambda e: e.get("additionalEventData", {}).get("MFAUsed") == "YES")
    f = fields(event)
    assert (one(f, "action"), one(f, "status"), one(f, "errorCode")) == ("success", "success", "success")
    assert one(f, "authentication_method") == "MFA"
    assert one(f, "user_type") == "Root"
    assert one(f, "user") == "root"
    assert {"authentication", "privileged"} <= set(f["tag"])


def test_console_login_without_mfa_says_password():
    event = event_named("ConsoleLogin", lambda e: e.get("additionalEventData", {}).get("MFAUsed") == "No")
    assert one(fields(event), "authentication_method") == "password"


def test_errorcode_is_success_when_absent_and_kept_when_present():
    ok = fields(event_named("CreateUser"))
    assert one(ok, "errorCode") == "success"
    assert one(ok, "status") == "success"
    assert "result_id" not in ok
    failed = fields(event_named("UpdateTrail", lambda e: "errorCode" in e))
    assert one(failed, "errorCode") == "TrailNotFoundException"
    assert one(failed, "result_id") == "TrailNotFoundException"
    assert (one(failed, "status"), one(failed, "result")) == ("failure", "not found")
    assert one(failed, "action") == "modified"  # a failed change is still a change, with status=failure


def test_unauthorized_calls_are_marked_as_such():
    f = fields(event_named("RunInstances", lambda e: e.get("errorCode") == "Client.UnauthorizedOperation"))
    assert one(f, "error_category") == "unauthorized"
    assert one(f, "status") == "failure"


def test_assumed_role_sessions_name_the_session_and_the_role():
    event = event_named("RunInstances")
    f = fields(event)
    arn = event["userIdentity"]["arn"]
    assert one(f, "user_type") == "AssumedRole"
    assert one(f, "user_arn") == arn
    assert one(f, "user") == arn.rsplit("/", 1)[1]
    assert one(f, "user_name") == event["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"]
    assert one(f, "user_role") == one(f, "user_name")
    assert one(f, "temp_access_key") == event["userIdentity"]["accessKeyId"]


def test_aws_service_principals_are_named_by_service():
    event = event_named("AssumeRole", lambda e: e["userIdentity"]["type"] == "AWSService")
    f = fields(event)
    assert one(f, "user") == event["userIdentity"]["invokedBy"]
    assert one(f, "src_ip") == event["sourceIPAddress"]


def test_account_and_region_fields():
    event = event_named("CreateUser")
    f = fields(event)
    assert one(f, "aws_account_id") == one(f, "vendor_account") == event["recipientAccountId"]
    assert one(f, "region") == one(f, "vendor_region") == event["awsRegion"]
    assert (one(f, "vendor"), one(f, "vendor_product")) == ("AWS", "AWS CloudTrail")
    assert one(f, "signature") == one(f, "command") == "CreateUser"
    assert one(f, "start_time") == event["eventTime"]


def test_iam_user_creation_is_an_account_change():
    event = event_named("CreateUser")
    f = fields(event)
    assert (one(f, "action"), one(f, "object_category"), one(f, "change_type")) == ("created", "user", "AAA")
    assert one(f, "object") == event["requestParameters"]["userName"]
    assert one(f, "src_user") == event["userIdentity"]["arn"]
    assert {"change", "account"} <= set(f["tag"])


def test_stop_logging_is_an_audit_change():
    f = fields(event_named("StopLogging"))
    assert (one(f, "action"), one(f, "object_category")) == ("stopped", "trail")
    assert {"change", "audit"} <= set(f["tag"])


def test_security_group_opened_to_the_world():
    event = event_named("AuthorizeSecurityGroupIngress")
    f = fields(event)
    assert {"change", "network"} <= set(f["tag"])
    assert one(f, "direction") == "inbound"
    assert one(f, "protocol") == "tcp"
    assert one(f, "dest_port_range") == "22-22"
    assert one(f, "src_ip_range") == event["requestParameters"]["cidrIp"]
    assert "dest_ip_range" not in f
    assert one(f, "object") == event["requestParameters"]["groupId"]


def test_network_acl_entry_fields():
    event = event_named("ReplaceNetworkAclEntry")
    f = fields(event)
    request = event["requestParameters"]
    assert one(f, "direction") == ("outbound" if request["egress"] else "inbound")
    assert one(f, "rule_action") == request["ruleAction"]
    assert one(f, "protocol_code") == request["aclProtocol"] == "-1"
    assert one(f, "protocol") == "all"
    assert one(f, "src_ip_range") == request["cidrBlock"]


def test_instance_launch_carries_image_and_type():
    event = event_named("RunInstances")
    f = fields(event)
    assert one(f, "image_id") == event["requestParameters"]["instancesSet"]["items"][0]["imageId"]
    assert one(f, "instance_type") == event["requestParameters"]["instanceType"]
    assert {"change", "instance"} <= set(f["tag"])


def test_read_only_calls_are_not_changes():
    f = fields(event_named("DescribeInstances"))
    assert "change" not in f.get("tag", [])
    assert "action" not in f


def test_src_ip_is_every_source_address_as_the_addon_gives_it():
    """Service names and "AWS Internal" too: detections filter src_ip!="AWS Internal" themselves."""
    kinds = set()
    for _, event in cloudtrail_events():
        source = event.get("sourceIPAddress")
        if source:
            f = fields(event)
            assert one(f, "src_ip") == one(f, "src") == source
            kinds.add("service" if source.endswith(".amazonaws.com") else source if " " in source else "address")
    assert {"service", "AWS Internal", "address"} <= kinds


def test_username_is_given_for_every_identity_type():
    examples = {"IAMUser": "CreateUser", "AssumedRole": "PutBucketReplication", "Root": "CreateVirtualMFADevice"}
    for identity_type, event_name in examples.items():
        event = event_named(event_name)
        assert event["userIdentity"]["type"] == identity_type
        f = fields(event)
        assert one(f, "userName") == one(f, "user_name"), identity_type
    assumed = fields(event_named("PutBucketReplication"))
    issuer = event_named("PutBucketReplication")["userIdentity"]["sessionContext"]["sessionIssuer"]
    assert one(assumed, "userName") == issuer["userName"]
    assert one(fields(event_named("CreateVirtualMFADevice")), "userName") == "root"


def test_username_and_user_name_are_computed_alike():
    from splunk_conf import read_conf

    props = read_conf(ROOT / "default" / "props.conf")["aws:cloudtrail"]
    assert props["EVAL-userName"] == props["EVAL-user_name"]
    assert props["EVAL-src_user"] == props["EVAL-user_arn"]


def test_failed_console_sign_in_of_an_iam_user_gets_its_arn():
    event = event_named("ConsoleLogin", lambda e: e.get("errorMessage") == "Failed authentication")
    assert "arn" not in event["userIdentity"]
    f = fields(event)
    identity = event["userIdentity"]
    expected = f"arn:aws:iam::{identity['accountId']}:user/{identity['userName']}"
    assert one(f, "user_arn") == one(f, "src_user") == expected
    # An unknown user name is hidden by CloudTrail: there is no user, so no ARN.
    hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
    unknown = fields(event_named("ConsoleLogin", lambda e: e["userIdentity"].get("userName") == hidden))
    assert "user_arn" not in unknown
    china = fields({**event, "awsRegion": "cn-north-1"})
    assert one(china, "user_arn") == expected.replace("arn:aws:", "arn:aws-cn:")


def test_every_rule_of_a_security_group_change_is_described():
    """Two rules in one call: every value of the multivalue fields reaches the port range and the
    protocol lookup (Splunk's automatic lookups match each value of a multivalue input)."""
    rules = [
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}},
        {"ipProtocol": "17", "fromPort": 53, "toPort": 53, "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}},
    ]
    event = {"eventSource": "ec2.amazonaws.com", "eventName": "AuthorizeSecurityGroupIngress",
             "requestParameters": {"groupId": "sg-0123", "ipPermissions": {"items": rules}}}  # fmt: skip
    f = fields(event)
    assert f["dest_port_range"] == ["22-22", "53-53"]
    assert f["protocol_code"] == ["tcp", "17"]
    assert f["protocol"] == ["tcp", "udp"]
    assert f["src_ip_range"] == ["0.0.0.0/0", "10.0.0.0/8"]
    assert one(f, "direction") == "inbound"


# --- lookups as data ---------------------------------------------------------------------------


def test_every_specific_eventname_row_is_reachable_and_unique():
    with (ROOT / "lookups" / "cloudtrail_firehose_eventnames.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = [(r["eventSource"], r["eventName"], r["status"]) for r in rows]
    assert len(keys) == len(set(keys))
    table = SEARCH_TIME.lookups[0][0]
    for row in rows:
        if "*" in row["eventSource"]:
            continue
        probe = {
            "eventSource": row["eventSource"],
            "eventName": row["eventName"].replace("*", "20150331"),
            "status": "success" if row["status"] == "*" else row["status"],
        }
        assert table.match(probe) == row, row
    for row in rows:
        assert row["cim_category"] in {"authentication", "account", "instance", "network", "audit", "change"}
        assert (row["cim_category"] == "account") == (row["object_category"] == "user") or row[
            "cim_category"
        ] == "authentication", row


def test_unknown_error_codes_still_get_a_result():
    f = fields({"eventName": "PutObject", "eventSource": "s3.amazonaws.com", "errorCode": "SomethingNew"})
    assert (one(f, "result"), one(f, "error_category"), one(f, "status")) == ("failed", "other", "failure")


# --- coverage of the fields security content expects -------------------------------------------


def coverage() -> tuple[int, int, dict[str, list[str]]]:
    produced = SEARCH_TIME.produced_fields()
    total = covered = 0
    missing: dict[str, list[str]] = {}
    for source in data_sources():
        paths = json_paths(json.loads(source["example_log"]))
        for name in source["fields"]:
            total += 1
            if name in paths or name in SPLUNK_DEFAULT_FIELDS or name in produced:
                covered += 1
            else:
                missing.setdefault(source["path"].name, []).append(name)
    return covered, total, missing


def test_fields_security_content_expects_are_produced():
    covered, total, missing = coverage()
    assert total == 2679
    print(f"\ncoverage: {covered} of {total} fields; missing: {json.dumps(missing, indent=1)}")
    assert covered >= ADDON_COVERAGE, missing
    # What is left must be JSON paths that the example events happen not to carry.
    for names in missing.values():
        for name in names:
            assert "." in name or name[0].islower() and any(c.isupper() for c in name), name


def test_every_produced_field_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    produced = [name for name in SEARCH_TIME.produced_fields() if not name.startswith(("tag", "eventtype"))]
    undocumented = sorted(name for name in produced if f"`{name}`" not in readme)
    assert undocumented == []


# --- CIM -----------------------------------------------------------------------------------------


def cim_models() -> dict[str, dict]:
    return {name: json.loads((CORPUS / "pytest-splunk-addon" / f"{name}.json").read_text()) for name in (
        "Authentication", "Change")}  # fmt: skip


def datasets_for(model: dict, tags: set[str]):
    """The model's datasets whose tags the event carries, parents first."""

    def walk(datasets):
        for dataset in datasets:
            if any(set(group) <= tags for group in dataset.get("tags", [[]])):
                yield dataset
                yield from walk(dataset.get("child_dataset", []))

    yield from walk(model["objects"])


@pytest.mark.slow
def test_cim_required_fields_are_present_for_events_that_belong_to_the_models():
    from splunk_search import search_matches

    checked = {"Authentication": 0, "Change": 0}
    for label, event in cloudtrail_events():
        f = fields(event)
        tags = set(f.get("tag", []))
        for name, model in cim_models().items():
            for dataset in datasets_for(model, tags):
                checked[name] += dataset is model["objects"][0]
                for spec in dataset.get("fields", []):
                    required = spec["type"] == "required" or (
                        spec["type"] == "conditional" and search_matches(spec["condition"], f)
                    )
                    if not required:
                        continue
                    value = one(f, spec["name"])
                    assert value not in (None, ""), f"{label}: {dataset['name']} needs {spec['name']}"
                    if spec.get("expected_values"):
                        assert value in spec["expected_values"], f"{label}: {spec['name']}={value}"
                    assert '"' not in value, f"{label}: {spec['name']} must not hold quotes"
            if "change" in tags:
                # Change's own rule: account changes, and only they, have object_category=user.
                assert ("account" in tags) == (one(f, "object_category") == "user"), label
    assert checked["Authentication"] >= 30
    assert checked["Change"] >= 60


@pytest.mark.parametrize("model", ["Authentication", "Change"])
@pytest.mark.slow
def test_cim_datasets_are_reachable(model):
    """Each top-level dataset's tags are produced by some corpus event."""
    root = cim_models()[model]["objects"][0]
    all_tags = set()
    for _, event in cloudtrail_events():
        all_tags |= set(fields(event).get("tag", []))
    assert any(set(group) <= all_tags for group in root["tags"])


def test_object_id_falls_back_to_the_same_resources_as_object():
    from splunk_conf import read_conf

    props = read_conf(ROOT / "default" / "props.conf")["aws:cloudtrail"]
    object_args = props["EVAL-object"].removeprefix("coalesce(").removesuffix(")")
    assert props["EVAL-object_id"].endswith(object_args + ")")


def test_traffic_mirror_rules_give_source_and_destination_port_ranges():
    request = {
        "CreateTrafficMirrorFilterRuleRequest": {
            "TrafficMirrorFilterId": "tmf-0123",
            "TrafficDirection": "ingress",
            "SourcePortRange": {"FromPort": 1024, "ToPort": 65535},
            "DestinationPortRange": {"FromPort": 443, "ToPort": 443},
        }
    }
    call = {"eventSource": "ec2.amazonaws.com", "eventName": "CreateTrafficMirrorFilterRule"}
    f = fields({**call, "requestParameters": request})
    assert (one(f, "src_port_range"), one(f, "dest_port_range")) == ("1024-65535", "443-443")


def test_s3_calls_name_the_object_path():
    f = fields(event_named("CopyObject"))
    request = event_named("CopyObject")["requestParameters"]
    assert one(f, "object_path") == f"{request['bucketName']}/{request['key']}"
    assert one(fields(event_named("PutBucketVersioning")), "object_path") == \
        event_named("PutBucketVersioning")["requestParameters"]["bucketName"]


# --- security content detections ---------------------------------------------------------------

# Detections the app does not serve on the pool events, and why (the event lacks what is needed).
UNSERVED_DETECTIONS = {
    "AWS Multiple Failed MFA Requests For User": (
        "no pool event is a failed MFA sign-in: the data-source example names an unknown user "
        "(CloudTrail hides it, so there is no user and no ARN) and the Stratus sign-in succeeded "
        "(no errorMessage)"
    ),
}


def detection_report() -> dict[str, tuple[str, str]]:
    """(app, TA) served verdicts per detection, from ../shared/tools/detection_fields.py."""
    import subprocess
    import sys

    tool = CORPUS.parent / "tools" / "detection_fields.py"
    content = CORPUS / "splunk_security_content"
    command = [sys.executable, str(tool), str(ROOT), str(content / "detections"), str(content / "data_sources"),
               str(CORPUS / "stratus-red-team" / "detonation-logs")]  # fmt: skip
    # The tool looks for the app's search-time model (splunk_search) under tests/; it sits in tests/standins.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "standins"), str(ROOT / "package")])}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    verdicts, name = {}, None
    for line in output.splitlines():
        if line.startswith("== "):
            name = line[3:]
        elif line.strip().startswith("served:"):
            app, ta = (part.split()[-1] for part in line.split(":", 1)[1].split(","))
            verdicts[name] = (app, ta)
    return verdicts


@pytest.mark.slow
def test_detections_find_the_fields_they_need():
    verdicts = detection_report()
    assert len(verdicts) >= 20
    unserved = {name for name, (app, _) in verdicts.items() if app != "yes"}
    assert unserved == set(UNSERVED_DETECTIONS)
    served_by_app = sum(app == "yes" for app, _ in verdicts.values())
    served_by_addon = sum(ta == "yes" for _, ta in verdicts.values())
    assert served_by_app > served_by_addon


# --- events larger than KV_MODE=json's cutoff (limits.conf [spath] extraction_cutoff) ------------

# Splunk without the cutoff: what the app's fields would be if KV_MODE=json read every byte.
WHOLE_EVENT = dataclasses.replace(SEARCH_TIME, extraction_cutoff=None)

# The top-level keys CloudTrail writes after requestParameters and responseElements, and the fields
# of them that the app's searches, eventtypes, CIM fields and the detections use.
LATE_KEYS = ["requestID", "eventID", "eventType", "readOnly", "managementEvent", "recipientAccountId",
             "sharedEventID", "eventCategory", "additionalEventData.MFAUsed", "resources{}.ARN"]  # fmt: skip
# The keys CloudTrail writes first, ahead of requestParameters.
EARLY_KEYS = ["eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode",
              "errorMessage"]  # fmt: skip


def relied_on(fields: dict) -> dict:
    """The fields users rely on: every field the configuration makes (aliases, calculated fields,
    lookups, eventtypes, tags), the keys above, and userIdentity.* and requestParameters.*
    (dashboards and detections search them)."""
    # resources{}.ARN itself is left to KV_MODE=json: only object_id uses it, and object_id is here.
    names = SEARCH_TIME.produced_fields() | set(LATE_KEYS) - {"resources{}.ARN"} | set(EARLY_KEYS)
    return {
        name: values
        for name, values in fields.items()
        if name in names or name.startswith(("userIdentity.", "requestParameters.", "tag::"))
    }


def inflated(event: dict, size: int = 6000) -> dict:
    """The event with a large response (a Describe* call listing many resources), or, for a call
    that has no response, a large request: the late keys end up past the cutoff."""
    event = copy.deepcopy(event)
    padding = {"cloudtrailFirehoseTestPadding": "x" * size}
    for key in ("responseElements", "requestParameters"):
        if isinstance(event.get(key), dict):
            event[key].update(padding)
            break
    else:
        event["responseElements"] = padding
    return event


@pytest.mark.slow
def test_large_events_keep_every_field_users_rely_on():
    """limits.conf.spec [spath] extraction_cutoff: KV_MODE=json reads the first 5000 bytes. Every
    corpus event made larger (its response or request grown past the cutoff) has the same fields,
    with the same values, as the whole event would give: account, event id, read-only flag,
    eventtypes and tags, the resource, the sign-in's MFA method."""
    checked = 0
    for label, event in cloudtrail_events():
        big = inflated(event)
        raw = raw_of(big)
        assert len(raw.encode("utf-8")) > EXTRACTION_CUTOFF
        expected = relied_on(WHOLE_EVENT.fields_of(event))
        assert relied_on(SEARCH_TIME.fields_of(big)) == expected, label
        checked += any(raw.find(f'"{key}"') > EXTRACTION_CUTOFF for key in LATE_KEYS)
    assert checked >= 350  # the late keys really were past the cutoff


def test_corpus_events_already_past_the_cutoff_keep_their_fields():
    """Two data-source examples (PutImage, DescribeImageScanFindings) and a Stratus Red Team event
    carry eventID past byte 5000 as they are (limits.conf.spec [spath] extraction_cutoff)."""
    large = [
        (label, event) for label, event in cloudtrail_events() if raw_of(event).find('"eventID"') > EXTRACTION_CUTOFF
    ]
    assert len(large) == 3
    for label, event in large:
        assert "eventID" not in kv_json(raw_of(event)), label  # KV_MODE=json alone loses it
        f = fields(event)
        assert one(f, "eventID") == event["eventID"], label
        assert one(f, "aws_account_id") == one(f, "vendor_account") == event["recipientAccountId"], label
        assert relied_on(f) == relied_on(WHOLE_EVENT.fields_of(event)), label


def test_the_late_keys_are_the_events_own_not_nested_ones_of_the_same_name():
    """A request and a response that hold keys named like CloudTrail's own (eventID,
    recipientAccountId, readOnly, resources[].ARN, MFAUsed), in an event past the cutoff: the fields
    are the event's top-level values."""
    event = event_named("ConsoleLogin", lambda e: e.get("additionalEventData", {}).get("MFAUsed") == "YES")
    decoy = {"eventID": "nested-id", "recipientAccountId": "999999999999", "readOnly": True, "eventType": "Decoy",
             "resources": [{"ARN": "arn:aws:iam::999999999999:role/decoy"}], "managementEvent": False,
             "additionalEventData": {"MFAUsed": "No"}}  # fmt: skip
    event = {**event, "requestParameters": {"filter": decoy, "pad": "x" * 6000}, "responseElements": {"copy": decoy}}
    event.update(readOnly=False, managementEvent=True)
    event["resources"] = [{"ARN": "arn:aws:iam::111122223333:user/real", "accountId": "111122223333"}]
    assert raw_of(event).find('"eventID"') < raw_of(event).rfind('"eventID"')  # the decoys come first
    f = fields(event)
    assert one(f, "eventID") == event["eventID"]
    assert one(f, "aws_account_id") == event["recipientAccountId"]
    assert (one(f, "readOnly"), one(f, "managementEvent")) == ("false", "true")
    assert one(f, "eventType") == "AwsConsoleSignIn"
    assert f["object_id"] == ["arn:aws:iam::111122223333:user/real"]
    assert one(f, "authentication_method") == "MFA"
    assert "eventID" not in kv_json(raw_of(event))  # these came from _raw, past the cutoff


def test_every_resource_arn_is_kept_in_order():
    """transforms.conf.spec MV_ADD: every ARN of resources[] becomes a value of object_id, as
    KV_MODE=json gives resources{}.ARN."""
    event = event_named("CopyObject")
    arns = [r["ARN"] for r in event["resources"]]
    assert len(arns) > 1
    assert fields(inflated(event))["object_id"] == arns == fields(event)["object_id"]


def test_the_early_keys_come_from_kv_json_even_with_a_huge_request():
    """CloudTrail writes userIdentity, eventTime, eventSource, eventName, awsRegion,
    sourceIPAddress, userAgent, errorCode and errorMessage before requestParameters, so KV_MODE=json
    gets them within the first 5000 bytes (limits.conf.spec [spath] extraction_cutoff) however large
    the request is; the app reads only the late keys from _raw."""
    event = event_named("RunInstances", lambda e: e.get("errorCode") == "Client.UnauthorizedOperation")
    big = inflated({**event, "responseElements": None}, size=300_000)
    kv = kv_json(raw_of(big))
    for key in [*EARLY_KEYS, "userIdentity.arn", "userIdentity.type", "userIdentity.accessKeyId"]:
        assert kv[key] == WHOLE_EVENT.fields_of(event)[key], key
    f = fields(big)
    assert (one(f, "status"), one(f, "error_category"), one(f, "user_arn")) == (
        "failure", "unauthorized", event["userIdentity"]["arn"])  # fmt: skip


@pytest.mark.slow
def test_the_values_read_from_raw_are_the_json_values_on_every_corpus_event():
    """For every corpus event, each late key read from _raw (transforms.conf) equals what KV_MODE=json
    gives the whole event, and none is missed."""
    names = {"resources_ARN": "resources{}.ARN", "MFAUsed": "additionalEventData.MFAUsed"}
    for label, event in cloudtrail_events():
        raw, from_raw = raw_of(event), {}
        for transform in SEARCH_TIME.reports:
            transform.apply(from_raw, raw)
        whole = WHOLE_EVENT.fields_of(event)
        read = {names.get(k.removeprefix("cloudtrail_raw_"), k.removeprefix("cloudtrail_raw_")): v
                for k, v in from_raw.items()}  # fmt: skip
        assert read == {key: whole[key] for key in LATE_KEYS if key in kv_json(raw, None)}, label
