"""Modular input firehose_health; all logic is in cloudtrail_firehose.inputs."""

import sys

import cloudtrail_firehose_bootstrap  # noqa: F401 - puts lib/ first on sys.path

from cloudtrail_firehose.inputs.health_input import HealthInput

if __name__ == "__main__":
    sys.exit(HealthInput().run(sys.argv))
