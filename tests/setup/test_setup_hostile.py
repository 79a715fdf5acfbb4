"""The setup handler against saves that only together make a bad configuration, malformed request
envelopes, and sessions splunkd no longer knows."""

from __future__ import annotations

import json

import pytest
from cloudtrail_firehose.setup.handler import answer_splunk
from fake_splunkd import ADMIN_TOKEN, USER_TOKEN
from setup_client import FORM, call


def later_calls_accept(service, splunkd) -> bool:
    """GET template loads the stored settings with every check a later call makes (and touches no AWS)."""
    return call(service, splunkd, "GET", "template")[0] == 200


def test_two_valid_saves_cannot_store_an_organization_trail_on_an_existing_log_group(setup):  # noqa: F811
    service, splunkd = setup
    assert call(service, splunkd, "POST", "config", FORM | {"existing_log_group": "/aws/cloudtrail/org"})[0] == 200
    status, body = call(service, splunkd, "POST", "config", FORM | {"organization_trail": "true"})
    assert status == 400, body
    text = "\n".join(body["problems"])
    assert "organization_trail" in text
    assert "existing_log_group is stored from an earlier save" in text
    assert splunkd.conf["pipeline"].get("organization_trail") in (None, "", "false")  # nothing stored
    assert later_calls_accept(service, splunkd)
    # Clearing the log group in the same save is the way to an organization trail.
    status, body = call(service, splunkd, "POST", "config", FORM | {"organization_trail": "true",
                                                                     "existing_log_group": ""})  # fmt: skip
    assert status == 200, body
    assert later_calls_accept(service, splunkd)


@pytest.mark.parametrize("refused", ["pipeline-", "pipe--line", "xn--pipeline", "p" * 28])
def test_a_name_prefix_aws_refuses_is_refused_by_the_save_and_the_longest_fits_every_region(setup, refused):  # noqa: F811
    """AWS CloudTrail User Guide, "Trail naming requirements" (no trailing or doubled dash) and Amazon S3 User
    Guide, "General purpose bucket naming rules" (reserved prefixes; 63 characters for
    {prefix}-failed-{account}-{region}): the save refuses such a prefix, and stores nothing."""
    service, splunkd = setup
    status, body = call(service, splunkd, "POST", "config", FORM | {"name_prefix": refused})
    assert status == 400, body
    assert any(p.startswith("name_prefix:") for p in body["problems"]), body
    assert splunkd.conf.get("pipeline", {}).get("name_prefix") is None
    # The longest allowed prefix fits the longest region's bucket names, so no later region change is refused.
    assert call(service, splunkd, "POST", "config", FORM | {"name_prefix": "p" * 27})[0] == 200
    status, body = call(service, splunkd, "POST", "config", {"region": "us-isof-south-1"})
    assert status == 200, body
    assert later_calls_accept(service, splunkd)


def test_role_mode_cannot_be_saved_without_its_role_arn_even_across_saves(setup):  # noqa: F811
    service, splunkd = setup
    status, body = call(service, splunkd, "POST", "config", {"aws_auth": "role"})
    assert status == 400
    assert any(p.startswith("aws_role_arn:") for p in body["problems"])
    assert splunkd.conf == {}


def envelope(**fields) -> str:
    base = {"method": "GET", "path_info": "config", "query": [], "payload": "",
            "server": {"rest_uri": "https://127.0.0.1:8089"}, "session": {"authtoken": ADMIN_TOKEN, "user": "admin"}}
    return json.dumps({**base, **fields})


def without(name: str) -> str:
    request = json.loads(envelope())
    del request[name]
    return json.dumps(request)


# What Splunk's persistent REST handler protocol never sends, and what each must be answered with.
MALFORMED = [
    ("a JSON list", "[]", 400),
    ("a JSON string", '"GET /config"', 400),
    ("JSON null", "null", 400),
    ("a JSON number", "42", 400),
    ("not JSON", "{", 400),
    ("not UTF-8", b'{"method": "GET", "path_info": "\xff\xfe"}', 400),
    ("deeply nested", '{"query": ' + "[" * 50_000 + "]" * 50_000 + "}", 400),
    ("huge", envelope(payload="x" * 200_000), 413),
    ("a number of 5,000 digits", '{"method": "GET", "n": ' + "9" * 5000 + "}", 400),
    ("payload an object", envelope(method="POST", payload={"index": "main"}), 400),
    ("payload a number", envelope(payload=5), 400),
    ("payload a list", envelope(payload=["a"]), 400),
    ("query a string", envelope(query="since=3"), 400),
    ("query pairs of one", envelope(query=[["since"]]), 400),
    ("query pairs of three", envelope(query=[["since", "3", "4"]]), 400),
    ("query pairs of numbers", envelope(query=[[1, 2]]), 400),
    ("query an object of lists", envelope(query={"since": ["3"]}), 400),
    ("session missing", without("session"), 401),
    ("session a string", envelope(session=ADMIN_TOKEN), 401),
    ("session without a token", envelope(session={"user": "admin"}), 401),
    ("session token a number", envelope(session={"authtoken": 5}), 401),
    ("headers odd", envelope(headers=[["Content-Type"]]), 400),
    ("headers a string", envelope(headers="Content-Type: application/json"), 400),
    ("form odd", envelope(form=[["a", "b"], ["c"]]), 400),
    ("method a number", envelope(method=5), 405),
    ("method not HTTP", envelope(method="FETCH"), 405),
    ("path_info an object", envelope(path_info={"a": 1}), 400),
    ("server a string", envelope(server="https://127.0.0.1:8089"), 400),
    ("rest_uri not a URL", envelope(server={"rest_uri": "file:///etc/passwd"}), 400),
    ("rest_uri a list", envelope(server={"rest_uri": ["https://127.0.0.1:8089"]}), 400),
]


@pytest.mark.parametrize(("what", "raw", "status"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_envelope_is_a_clear_4xx(setup, what, raw, status):  # noqa: F811
    service, splunkd = setup
    answer = answer_splunk(service, raw)
    assert answer["status"] == status, what
    body = json.loads(answer["payload"])
    assert body["error"], body
    assert body["what_to_do"], body
    assert splunkd.conf == {}
    assert splunkd.passwords == {}


def test_a_well_formed_envelope_still_works(setup):  # noqa: F811
    service, splunkd = setup
    raw = envelope(server={"rest_uri": splunkd.url}, headers=[["Content-Type", "application/json"]],
                   query=[["since", "0"]])  # fmt: skip
    assert answer_splunk(service, raw)["status"] == 200


def test_an_expired_session_is_told_to_sign_in_again_not_about_roles(setup):  # noqa: F811
    """splunkd answers 401 to a session key it no longer knows ("call not properly authenticated");
    403 stays a missing capability."""
    service, splunkd = setup
    for method, path in (("GET", "config"), ("POST", "config"), ("POST", "deploy")):
        status, body = call(service, splunkd, method, path, FORM, token="expired-session-key")
        assert status == 401, body
        assert body["error"] == "your Splunk session has expired; sign in again and retry"
        assert "role" not in body["error"] + body["what_to_do"]
    assert call(service, splunkd, "GET", "config", token=USER_TOKEN)[0] == 403
    assert splunkd.conf == {}


def test_the_fake_splunkd_sets_a_key_posted_empty_to_empty(setup):  # noqa: F811
    """As splunkd does ("Configuration endpoint descriptions": POST configs/conf-{file}/{stanza} sets each
    key posted, an empty value included), so clearing a field on the form really clears it."""
    from cloudtrail_firehose.splunk.splunkd import Splunkd

    _, splunkd = setup
    client = Splunkd(splunkd.url, ADMIN_TOKEN)
    client.upsert("servicesNS/nobody/cloudtrail_firehose/configs/conf-cloudtrail_firehose", "pipeline",
                  {"existing_log_group": "/aws/cloudtrail/org"}, {"name": "pipeline"})  # fmt: skip
    client.upsert("servicesNS/nobody/cloudtrail_firehose/configs/conf-cloudtrail_firehose", "pipeline",
                  {"existing_log_group": ""}, {"name": "pipeline"})  # fmt: skip
    assert splunkd.conf["pipeline"]["existing_log_group"] == ""
