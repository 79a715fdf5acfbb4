"""The app's HEC tokens are named by one rule, on this instance (data/inputs/http, "HTTP Event Collector REST
API endpoints") and through ACS ("Manage HTTP Event Collector (HEC) tokens in Splunk Cloud Platform"):
cloudtrail_firehose, then cloudtrail_firehose-2, -3, ...; the cloudtrail_firehose_<n> an earlier version gave
local rotations is still the app's, so it is used, retired and removed like the others."""

from __future__ import annotations

import pytest
from cloudtrail_firehose.sources import CLOUDTRAIL
from cloudtrail_firehose.splunk import acs, cloud_tokens, hec
from cloudtrail_firehose.splunk.splunkd import Splunkd
from fake_acs import JWT, STACK, FakeAcs
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd


def test_which_names_are_the_apps_and_in_which_order():
    names = ["cloudtrail_firehose-10", "main_token", "cloudtrail_firehose", "cloudtrail_firehose_2",
             "cloudtrail_firehose_hec", "cloudtrail_firehose-3", "xcloudtrail_firehose-4"]  # fmt: skip
    assert CLOUDTRAIL.token.oldest_first(names) == ["cloudtrail_firehose", "cloudtrail_firehose_2",
                                                    "cloudtrail_firehose-3", "cloudtrail_firehose-10"]  # fmt: skip
    assert CLOUDTRAIL.token.next_name([]) == "cloudtrail_firehose"
    assert CLOUDTRAIL.token.next_name(["cloudtrail_firehose"]) == "cloudtrail_firehose-2"
    assert CLOUDTRAIL.token.next_name(["cloudtrail_firehose", "cloudtrail_firehose_2"]) == "cloudtrail_firehose-3"
    assert CLOUDTRAIL.token.next_name(names) == "cloudtrail_firehose-11"


@pytest.fixture
def both():
    splunkd, stack = FakeSplunkd(), FakeAcs(lag=0)
    yield splunkd, stack
    splunkd.close()
    stack.close()


def test_a_rotation_names_the_new_token_alike_here_and_through_acs(both):
    splunkd, stack = both
    local = Splunkd(splunkd.url, ADMIN_TOKEN)
    cloud = acs.Acs(STACK, JWT, base_url=stack.url, poll_interval=0, sleep=lambda s: None)
    for old in ("cloudtrail_firehose", "cloudtrail_firehose_2"):  # as an earlier version left them here
        splunkd.hec_inputs[old] = {"token": old}
        stack.seed(old)
    spec, earlier = CLOUDTRAIL.token, ["cloudtrail_firehose", "cloudtrail_firehose_2"]
    assert hec.ensure_hec_input(local, spec, "main", rotate=True).name == "cloudtrail_firehose-3"
    assert cloud_tokens.ensure_hec_token(cloud, spec, "main", rotate=True).token.name == "cloudtrail_firehose-3"
    assert hec.retire_hec_inputs(local, spec, keep="cloudtrail_firehose-3") == earlier
    assert cloud_tokens.retire_app_tokens(cloud, spec, keep="cloudtrail_firehose-3") == earlier
    assert sorted(splunkd.hec_inputs) == sorted(stack.tokens) == ["cloudtrail_firehose-3"]
