"""The command line, as a user runs it, against moto_server on 127.0.0.1 (AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cloudtrail_firehose.__main__ import run
from fake_hec import FakeHec
from waits import no_wait_env, waits

ROOT = Path(__file__).resolve().parents[2]


def aws_env(endpoint: str) -> dict[str, str]:
    """AWS as the command sees it: moto_server at endpoint, test credentials, no config file."""
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent"}  # fmt: skip


def cli(endpoint: str, *args: str, token: str | None = None, **extra_env: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT / "package"),
           "PYTHONWARNINGS": "ignore", **aws_env(endpoint), **extra_env}  # fmt: skip
    if token:
        env["CLOUDTRAIL_FIREHOSE_HEC_TOKEN"] = token
    return subprocess.run([sys.executable, "-m", "cloudtrail_firehose", *args], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip


HEC = ("--hec-url", "https://hec.example.com", "--name-prefix", "cli-test")


def test_preflight_plan_apply_status_destroy(endpoint, tmp_path):
    result = cli(endpoint, "preflight", *HEC, "--skip-certificate-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ok  ] AWS identity" in result.stdout
    assert "[ok  ] names" in result.stdout

    result = cli(endpoint, "plan", *HEC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "+ create  AWS::KinesisFirehose::DeliveryStream" in result.stdout

    result = cli(endpoint, "apply", *HEC, token="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CREATE_COMPLETE" in result.stdout
    assert "HEC token stored in Secrets Manager" in result.stdout
    assert "aaaaaaaa-bbbb" not in result.stdout + result.stderr

    result = cli(endpoint, "apply", *HEC, token="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    assert "Nothing to change" in result.stdout
    result = cli(endpoint, "apply", *HEC)  # without the token: the secret keeps the one it has
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing to change" in result.stdout
    assert "HEC token was not set" not in result.stdout

    result = cli(endpoint, "status", *HEC)
    report = json.loads(result.stdout)
    assert report["status"] == "CREATE_COMPLETE"
    assert report["delivery_streams"] == {"cloudtrail": "ACTIVE"}

    result = cli(endpoint, "destroy", *HEC)
    assert result.returncode == 0
    assert "DELETE_COMPLETE" in result.stdout
    assert "Kept S3 bucket cli-test-failed-" in result.stdout
    # Applying again adopts what destroy kept; preflight says so instead of calling the names taken.
    result = cli(endpoint, "preflight", *HEC, "--skip-certificate-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ok  ] kept buckets: cli-test-failed-" in result.stdout
    assert "[ok  ] names" in result.stdout
    result = cli(endpoint, "apply", *HEC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Stack cli-test: IMPORT_COMPLETE" in result.stdout
    assert json.loads(cli(endpoint, "status", *HEC).stdout)["delivery_streams"] == {"cloudtrail": "ACTIVE"}
    result = cli(endpoint, "destroy", *HEC, "--delete-data")
    assert "Deleted S3 bucket cli-test-failed-" in result.stdout


def test_settings_from_a_config_file_with_options_overriding(endpoint, tmp_path):
    config = tmp_path / "pipeline.json"
    config.write_text(json.dumps({"hec_url": "https://hec.example.com", "name_prefix": "from-file",
                                  "retry_duration": 600}))  # fmt: skip
    result = cli(endpoint, "export", "--config", str(config), "--retry-duration", "900", "--output", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    parameters = {p["ParameterKey"]: p["ParameterValue"]
                  for p in json.loads((tmp_path / "cloudtrail_firehose.parameters.json").read_text())}  # fmt: skip
    assert parameters["NamePrefix"] == "from-file"
    assert parameters["RetryDuration"] == "900"
    assert (tmp_path / "cloudtrail_firehose.template.yaml").exists()


def test_bad_input_is_explained_without_calling_aws():
    result = cli("http://127.0.0.1:9", "apply", "--hec-url", "http://10.0.0.5:8088", "--hec-ack-timeout", "30")
    assert result.returncode == 2
    assert "Settings to fix:" in result.stdout
    assert "hec_url" in result.stdout
    assert "hec_ack_timeout: 30 is out of range; use 180 to 600" in result.stdout
    assert "Traceback" not in result.stderr
    assert "127.0.0.1:9" not in result.stdout  # no connection was tried


def test_unreachable_endpoint_is_explained(tmp_path):
    """After botocore's retries (standard mode, the app's 8, each after a backoff), a message, not a traceback.

    Port 9 refuses at once; the backoffs (~45 s in all) are counted, not waited out (tests/standins/no_wait).
    """
    result = cli("http://127.0.0.1:9", "status", *HEC, **no_wait_env(tmp_path / "waits"))
    assert result.returncode == 1
    assert "cannot reach AWS" in result.stdout
    assert "Traceback" not in result.stderr
    backoffs = waits(tmp_path / "waits")
    assert len(backoffs) == 8, backoffs


def test_preflight_with_a_role_to_assume(endpoint):
    result = cli(endpoint, "preflight", *HEC, "--skip-certificate-check", "--role-arn",
                 "arn:aws:iam::123456789012:role/deployer", "--external-id", "ext-7")  # fmt: skip
    assert "[ok  ] AWS identity: arn:aws:sts::123456789012:assumed-role/deployer/cloudtrail-firehose-setup" in (
        result.stdout
    ), result.stdout + result.stderr


def test_export_lists_the_vpcs_with_the_identity_the_command_was_given(tmp_path, monkeypatch):
    """No vpc_ids: export lists the region's VPCs as the role given by --role-arn sees them (moto keeps each
    account's VPCs apart), not as the default credential chain's own account would."""
    import boto3
    import moto_shims  # noqa: F401
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    role = "arn:aws:iam::111111111111:role/deployer"
    with mock_aws():
        credentials = boto3.client("sts", "us-east-1").assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
        other = boto3.client("ec2", "us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                             aws_secret_access_key=credentials["SecretAccessKey"],
                             aws_session_token=credentials["SessionToken"])  # fmt: skip
        theirs = other.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        ours = boto3.client("ec2", "us-east-1").create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        said: list[str] = []
        code = run(["export", *HEC, "--region", "us-east-1", "--collect-vpc-flow-logs", "true", "--role-arn", role,
                    "--output", str(tmp_path)], out=said.append)  # fmt: skip
    assert code == 0, said
    template = (tmp_path / "cloudtrail_firehose.template.yaml").read_text()
    assert theirs in template
    assert ours not in template


def test_vpc_flow_logs_alone_from_the_command_line(aws, monkeypatch):
    """apply, status and destroy of a VPC-only pipeline: the flow logs' token from its own variable, no CloudTrail
    token asked for, one flow log on the VPC given."""
    vpc = aws.client("ec2").create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    monkeypatch.setenv("CLOUDTRAIL_FIREHOSE_VPCFLOW_HEC_TOKEN", "12345678-aaaa-bbbb-cccc-1234567890ab")
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    options = [*HEC, "--region", "us-east-1", "--collect-cloudtrail", "false", "--collect-vpc-flow-logs", "true",
               "--vpc-ids", vpc]  # fmt: skip
    said: list[str] = []
    assert run(["apply", *options], out=said.append) == 0, said
    assert "12345678-aaaa" not in "\n".join(said)
    [flow_log] = aws.client("ec2").describe_flow_logs()["FlowLogs"]
    assert flow_log["ResourceId"] == vpc
    said.clear()
    assert run(["status", *options], out=said.append) == 0
    assert json.loads(said[-1])["delivery_streams"] == {"vpcflow": "ACTIVE"}
    said.clear()
    assert run(["destroy", *options], out=said.append) == 0
    assert any("DELETE_COMPLETE" in line for line in said), said
    assert aws.client("ec2").describe_flow_logs()["FlowLogs"] == []


@pytest.mark.slow
def test_options_come_from_the_settings_schema():
    help_text = cli("http://127.0.0.1:9", "--help").stdout
    assert "Seconds Firehose waits for Splunk's indexer acknowledgement. (180 to 600) (default 300)" in " ".join(
        help_text.split()
    )
    assert "--processor-code-key" not in help_text  # set by the app, not a user choice
    refused = cli("http://127.0.0.1:9", "export", "--filter-preset", "everything")
    assert refused.returncode == 2
    assert "invalid choice: 'everything'" in refused.stderr


def test_an_aws_error_no_step_explains_ends_in_a_message_not_a_traceback(monkeypatch):
    from botocore.exceptions import ClientError
    from cloudtrail_firehose import __main__ as cli_main
    from cloudtrail_firehose.aws import pipeline

    def refuse(*args, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to perform: s3:ListBucket"}},
                          "ListObjectsV2")  # fmt: skip

    monkeypatch.setattr(pipeline, "status", refuse)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    said: list[str] = []
    assert cli_main.run(["status", *HEC, "--region", "us-east-1"], out=said.append) == 1
    assert said == ["Error: status: AWS said AccessDenied: not authorized to perform: s3:ListBucket "
                    "(the AWS identity lacks a permission; grant it (see 'preflight' for the full list) and retry)"]


@pytest.mark.slow
def test_the_printed_deploy_command_survives_the_shell_with_spaces_and_quotes(tmp_path):
    """Run the printed line in bash with a stand-in aws that records its arguments."""
    pattern = '{ ($.eventName = "Delete*") && ($.userIdentity.type != "AWSService") }'
    folder = tmp_path / "export dir"
    result = cli("http://127.0.0.1:9", "export", *HEC, "--filter-preset", "custom", "--custom-filter-pattern",
                 pattern, "--output", str(folder))  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [x.strip() for x in result.stdout.splitlines() if x.strip().startswith("aws cloudformation deploy")]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "aws").write_text('#!/usr/bin/env python3\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n')
    (fake / "aws").chmod(0o755)
    ran = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=True,
                         env={"PATH": f"{fake}:{os.environ['PATH']}"})  # fmt: skip
    argv = json.loads(ran.stdout)
    assert argv[argv.index("--template-file") + 1] == str(folder / "cloudtrail_firehose.template.yaml")
    overrides = argv[argv.index("--parameter-overrides") + 1]
    assert overrides == f"file://{folder / 'cloudtrail_firehose.parameters.json'}"
    # AWS CLI v2 reads that file in CloudFormation's own format (aws/aws-cli pull request 5443).
    parameters = json.loads(Path(overrides.removeprefix("file://")).read_text())
    assert {"ParameterKey": "CustomFilterPattern", "ParameterValue": pattern} in parameters


def test_preflight_checks_the_hec_token_as_firehose_will(endpoint, tmp_path, monkeypatch):
    """With CLOUDTRAIL_FIREHOSE_HEC_TOKEN set, preflight asks HEC (tests/standins/fake_hec.py) about the token; nothing
    is indexed."""
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1" if host == "hec.example.test"
                                                                           else host, *a, **k))  # fmt: skip
    hec = FakeHec(tmp_path, "hec.example.test")
    # Trust the stand-in's certificate as Firehose trusts a public CA's: the checks use certifi's roots.
    monkeypatch.setattr("certifi.where", lambda: str(hec.cert))
    for name, value in aws_env(endpoint).items():
        monkeypatch.setenv(name, value)
    url = ("--hec-url", f"https://hec.example.test:{hec.server.server_address[1]}", "--name-prefix", "cli-hec")
    try:
        ok, fail = "[ok  ] CloudTrail HEC token", "[FAIL] CloudTrail HEC token"
        for token, mark, words in ((hec.add_token(), ok, ""), (hec.add_token(ack=False), fail, "acknowledgement"),
                                   ("00000000-1111-2222-3333-444444444444", fail, "")):  # fmt: skip
            monkeypatch.setenv("CLOUDTRAIL_FIREHOSE_HEC_TOKEN", token)
            lines: list[str] = []
            code = run(["preflight", *url], out=lines.append)
            [line] = [line for line in lines if line.startswith((f"{ok}:", f"{fail}:"))]
            assert line.startswith(mark), lines
            assert words in line
            assert token not in "\n".join(lines)
            assert code == (0 if mark.startswith("[ok") else 1), lines
        assert hec.indexed == []
    finally:
        hec.close()
