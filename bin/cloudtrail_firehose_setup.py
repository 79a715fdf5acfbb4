"""Splunk's persistent REST handler for the setup page; all logic is in cloudtrail_firehose.setup."""

import cloudtrail_firehose_bootstrap  # noqa: F401 - puts lib/ first on sys.path
from splunk.persistconn.application import PersistentServerConnectionApplication

from cloudtrail_firehose.setup.handler import SetupService, answer_splunk

SERVICE = SetupService()


class SetupHandler(PersistentServerConnectionApplication):
    def __init__(self, command_line, command_arg):
        super().__init__()

    def handle(self, in_string):
        return answer_splunk(SERVICE, in_string)
