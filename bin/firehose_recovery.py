"""Modular input firehose_recovery; all logic is in cloudtrail_firehose.inputs."""

import sys

import cloudtrail_firehose_bootstrap  # noqa: F401 - puts lib/ first on sys.path

from cloudtrail_firehose.inputs.recovery_input import RecoveryInput

if __name__ == "__main__":
    sys.exit(RecoveryInput().run(sys.argv))
