"""Splunk's persistent REST handler for the setup page; all logic is in cloudtrail_firehose.setup."""

import json

import cloudtrail_firehose_bootstrap  # noqa: F401 - puts lib/ first on sys.path
from splunk.persistconn.application import PersistentServerConnectionApplication

from cloudtrail_firehose.setup.handler import SetupService, parse_request
from cloudtrail_firehose.splunk.splunkd import Splunkd

SERVICE = SetupService()


class SetupHandler(PersistentServerConnectionApplication):
    def __init__(self, command_line, command_arg):
        super().__init__()

    def handle(self, in_string):
        request = parse_request(in_string)
        splunkd = Splunkd(request["rest_uri"], request["token"])
        status, body = SERVICE.handle(request["method"], request["path"], splunkd, request["payload"], request["query"])
        return {"status": status, "payload": json.dumps(body), "headers": {"Content-Type": "application/json"}}
