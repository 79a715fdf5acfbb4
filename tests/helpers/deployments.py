"""Deploying the pipeline against moto, as the AWS tests do."""

from __future__ import annotations

import moto_shims  # noqa: F401 - registers the CloudFormation resources moto lacks
from cloudtrail_firehose.aws import pipeline
from cloudtrail_firehose.aws.settings import PipelineSettings

REGION = "us-east-1"
ACCOUNT = "123456789012"
SETTINGS = PipelineSettings(hec_url="https://hec.example.com", region=REGION)


def no_sleep(_seconds: float) -> None:
    pass


TOKEN = "0a1b2c3d-0000-4000-8000-000000000001"


def deploy(session, settings=SETTINGS, token=TOKEN) -> tuple[dict, list[str]]:
    messages: list[str] = []
    outputs = pipeline.ensure_pipeline(settings, session, progress=messages.append, hec_tokens={"cloudtrail": token},
                                       sleep=no_sleep)  # fmt: skip
    return outputs, messages
