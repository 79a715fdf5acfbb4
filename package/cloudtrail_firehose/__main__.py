"""Command line for the AWS side: python -m cloudtrail_firehose preflight|plan|apply|status|destroy|export.

Every setting can come from --config FILE (JSON, keys as in PipelineSettings) and be overridden by
an option. AWS access: --profile, or the usual AWS_* environment variables or instance role, and
--role-arn to assume a role from there (credentials refreshed while a long deploy runs);
AWS_ENDPOINT_URL points every client at an emulator such as moto_server.

Each source's HEC token comes from its environment variable (Source.token_env: CLOUDTRAIL_FIREHOSE_HEC_TOKEN for
CloudTrail, CLOUDTRAIL_FIREHOSE_VPCFLOW_HEC_TOKEN for VPC Flow Logs), whichever tier made it (this command does
not create tokens): apply stores it in Secrets Manager, preflight checks it the way Firehose will.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import fields
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from cloudtrail_firehose import settings as schema
from cloudtrail_firehose import sources
from cloudtrail_firehose.aws import hec_secret, pipeline
from cloudtrail_firehose.aws.clients import Clients, clients_for
from cloudtrail_firehose.aws.errors import explain
from cloudtrail_firehose.aws.settings import PipelineSettings, SettingsError
from cloudtrail_firehose.errors import ActionableError
from cloudtrail_firehose.splunk import hec_check

COMMANDS = ("preflight", "plan", "apply", "status", "destroy", "export")
MARKS = {True: "ok  ", False: "FAIL", None: "warn"}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m cloudtrail_firehose", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    top.add_argument("command", choices=COMMANDS)
    top.add_argument("--config", type=Path, help="JSON file with settings (options override it)")
    top.add_argument("--profile", help="AWS profile from ~/.aws/config")
    top.add_argument("--region", help="AWS region (default: AWS_DEFAULT_REGION)")
    top.add_argument("--role-arn", help="assume this IAM role (from the profile or environment credentials)")
    top.add_argument("--external-id", default="", help="the external id the role's trust policy requires")
    for f in fields(PipelineSettings):
        setting = f.metadata["setting"]  # the schema's entry (cloudtrail_firehose/settings.py)
        if f.name == "region" or not setting.shown:
            continue
        choices = [schema.text(v) for v, _ in setting.choices] or None
        default = f" (default {schema.text(setting.default)})" if schema.text(setting.default) else ""
        limits = f" ({setting.minimum} to {setting.maximum})" if setting.minimum is not None else ""
        help_text = f"{setting.help or setting.label}{limits}{default}".replace("%", "%%")
        top.add_argument("--" + f.name.replace("_", "-"), choices=choices, help=help_text,
                         metavar=None if choices else setting.kind.upper())  # fmt: skip
    top.add_argument("--skip-certificate-check", action="store_true", help="preflight: do not connect to the HEC URL")
    top.add_argument("--delete-data", action="store_true", help="destroy: also delete the buckets and their data")
    top.add_argument("--output", type=Path, default=Path("."), help="export: folder to write into")
    return top


def settings_from(args: argparse.Namespace) -> PipelineSettings:
    values: dict = {}
    if args.config:
        try:
            values.update(json.loads(args.config.read_text()))
        except (OSError, json.JSONDecodeError) as error:
            raise SettingsError([f"--config {args.config}: {error}"]) from error
    for f in fields(PipelineSettings):
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    values.setdefault("region", os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "")
    if not values["region"] and args.profile:
        values["region"] = boto3.Session(profile_name=args.profile).region_name or ""
    return PipelineSettings.from_mapping(values)


def cli_clients(args: argparse.Namespace, region: str) -> Clients:
    """The command's clients: the profile or default chain, or a role assumed from it."""
    base = boto3.Session(profile_name=args.profile, region_name=region or None)
    if not args.role_arn:
        return Clients(base, region)
    role = {"aws_auth": "role", "aws_role_arn": args.role_arn, "aws_external_id": args.external_id}
    return clients_for(role, None, region, base=base)


def export_instructions(settings: PipelineSettings, template: Path, parameters: Path) -> str:
    """How to deploy the exported files; every path and value is shell-quoted (patterns hold spaces and quotes)."""
    deploy = ["aws", "cloudformation", "deploy", "--stack-name", settings.stack_name, "--template-file",
              str(template), "--capabilities", "CAPABILITY_NAMED_IAM", "--parameter-overrides",
              f"file://{parameters.resolve()}"]  # fmt: skip
    steps = []
    for source in sources.chosen(vars(settings)):
        file = f"hec-token{source.hec_name_suffix}.json"
        secret = ["aws", "secretsmanager", "create-secret", "--name", hec_secret.secret_name(settings, source),
                  "--secret-string", f"file://{file}", "--query", "ARN", "--output", "text"]  # fmt: skip
        steps.append(f'with {{"hec_token": "<the {source.label} token>"}} in {file},\n  {shlex.join(secret)}\n'
                     f"  and put the ARN it prints into {source.hec_arn_parameter} in {parameters}")
    return (f"Wrote {template} and {parameters}.\n"
            "1. Store each HEC token first (Firehose must never deliver with another): " + ";\n".join(steps) + "\n"
            f"2. Deploy (AWS CLI version 2 reads the parameters file as it is):\n  {shlex.join(deploy)}\n"
            "For processor=lambda, upload cloudtrail_firehose.processor.zip to the failed-delivery bucket as "
            "lambda/processor.zip and deploy again with ProcessorCodeKey=lambda/processor.zip.")  # fmt: skip


def run(argv: list[str] | None = None, out=print) -> int:
    args = parser().parse_args(argv)
    try:
        settings = settings_from(args)
        session = cli_clients(args, settings.region)
        if args.command == "export":  # AWS is asked only to list the region's VPCs, when vpc_ids is empty
            template, parameters = pipeline.export(settings, args.output, session)
            out(export_instructions(settings, template, parameters))
            return 0
        if args.command == "preflight":
            checks = pipeline.preflight(settings, session, check_certificate=not args.skip_certificate_check)
            results = [(c.ok, c.name, c.detail) for c in checks]
            for source in sources.chosen(vars(settings)):
                token = os.environ.get(source.token_env)
                if token and not args.skip_certificate_check:  # the token as Firehose will use it, no event sent
                    found = hec_check.check_hec_token(settings.hec_url, token, spec=source.token)
                    results += [(found.ok, f"{source.label} HEC token", found.message)]
                    results += [(None, f"{source.label} HEC token settings", w) for w in found.warnings]
            for ok, name, detail in results:
                out(f"[{MARKS[ok]}] {name}: {detail}")
            return 1 if any(ok is False for ok, _, _ in results) else 0
        if args.command == "plan":
            out(pipeline.plan(settings, session).describe())
            return 0
        if args.command == "apply":
            # A source without its variable set: its secret must already hold its token.
            tokens = {s.name: os.environ[s.token_env] for s in sources.chosen(vars(settings))
                      if os.environ.get(s.token_env)}  # fmt: skip  # fmt: skip
            outputs = pipeline.ensure_pipeline(settings, session, progress=out, hec_tokens=tokens)
            out(json.dumps(outputs, indent=2))
            return 0
        if args.command == "status":
            out(json.dumps(pipeline.status(settings, session), indent=2, default=str))
            return 0
        pipeline.destroy(settings, session, delete_data=args.delete_data, progress=out)
        return 0
    except SettingsError as error:
        out("Settings to fix:\n" + "\n".join(f"  - {p}" for p in error.problems))
        return 2
    except ActionableError as error:  # PipelineError (AWS side) or SplunkError (Splunk side)
        out(f"Error: {error}")
        return 1
    except (ClientError, BotoCoreError) as error:  # one no wrapper explained: still a message, not a traceback
        out(f"Error: {explain(error, args.command)}")
        return 1


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
