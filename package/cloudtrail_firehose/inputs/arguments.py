"""The app's two modular inputs as data, each fact once: arguments, interval, descriptions.

The inputs' schemes (what Splunk Web's form offers), the stanzas setup creates, default/inputs.conf and
README/inputs.conf.spec (both written by `python3 build.py generate`) are made from it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Splunk 10.2 and later run the inputs on 3.13; 9.4 and 10.0 ignore python.required and run them on 3.9.
PYTHON_REQUIRED = "3.9, 3.13"


@dataclass(frozen=True)
class Argument:
    name: str
    title: str
    help: str = ""
    required: bool = False
    kind: str = "string"  # string | number (splunklib's data types)
    in_scheme: bool = True  # False: a setting every input has (index), only documented in the spec


@dataclass(frozen=True)
class ModularInput:
    name: str
    title: str
    description: str  # one line, in the scheme
    spec: str  # what README/inputs.conf.spec says of the stanza
    arguments: tuple[Argument, ...]
    interval: int = 300
    defaults_comment: str = ""

    def stanza(self, **values: str) -> dict[str, str]:
        """An enabled input of this kind, as setup creates it."""
        return {**values, "interval": str(self.interval), "disabled": "0"}

    def scheme(self):
        """splunklib's Scheme for --scheme (imported here: the build reads this module without splunklib)."""
        from splunklib.modularinput import Argument as SplunkArgument
        from splunklib.modularinput import Scheme

        scheme = Scheme(self.title)
        scheme.description = self.description
        scheme.use_external_validation = True
        scheme.use_single_instance = False
        kinds = {"string": SplunkArgument.data_type_string, "number": SplunkArgument.data_type_number}
        for argument in self.arguments:
            if argument.in_scheme:
                scheme.add_argument(SplunkArgument(argument.name, title=argument.title, data_type=kinds[argument.kind],
                                                   required_on_create=argument.required,
                                                   required_on_edit=argument.required))  # fmt: skip
        return scheme


RECOVERY = ModularInput(
    "firehose_recovery", "Firehose failed-delivery recovery",
    "Reads Firehose's failed deliveries from S3 and writes each CloudTrail event back into Splunk exactly once, "
    "with an aws:firehose:error event per failed record.",
    "Reads Amazon Data Firehose's failed deliveries from S3 and writes every CloudTrail event back into Splunk "
    "exactly once (sourcetype aws:cloudtrail, source firehose_recovery:s3://bucket/key), plus one "
    "aws:firehose:error event per failed record. Objects are moved to recovered/ (or needs-attention/ when lines "
    "could not be read); never deleted.",
    (Argument("bucket", "Failed-delivery S3 bucket", "The failed-delivery bucket (the stack output "
              "FailedDeliveryBucketName).", required=True),
     Argument("region", "AWS region", "The bucket's AWS region.", required=True),
     Argument("index", "Index for recovered events", "Where recovered events go. Default: the index the setup page "
              "configured."),
     Argument("settle_seconds", "Seconds after a write before a search may find its events missing",
              "Seconds after an object's last write before a search may judge its events missing and write them "
              "again: longer than Splunk ever needs to make indexed events searchable. 60 to 86400. Default: 1800.",
              kind="number")),
    defaults_comment="Defaults for firehose_recovery inputs. Create one in Settings > Data inputs with the bucket "
                     "named in the stack's FailedDeliveryBucketName output.",
)  # fmt: skip
HEALTH = ModularInput(
    "firehose_health", "Firehose pipeline health",
    "Polls a deployed pipeline's Firehose metrics, stack and failed-delivery backlog.",
    "Polls a deployed pipeline: Firehose's DeliveryToSplunk and incoming metrics, the stack's status and last drift "
    "result, and the failed-delivery backlog; writes one aws:firehose:health event (source firehose_health:<stack>) "
    "with a state (flowing, idle, backlog, stalled, failing, not_deployed, unknown) and why.",
    (Argument("region", "AWS region", "The pipeline's AWS region.", required=True),
     Argument("name_prefix", "Pipeline name prefix (the stack name)", "The pipeline's name prefix, which is also its "
              "stack name.", required=True),
     Argument("index", "Index", "Where health events go. Default: the index the setup page configured.",
              in_scheme=False)),
    defaults_comment="Defaults for firehose_health inputs: one per pipeline (region and name prefix), every "
                     "5 minutes.",
)  # fmt: skip
INPUTS = (RECOVERY, HEALTH)


def _wrapped(text: str, prefix: str, width: int = 100) -> list[str]:
    lines, line = [], prefix
    for word in text.split():
        if len(line) + len(word) + 1 > width and line != prefix:
            lines.append(line)
            line = prefix
        line = f"{line}{'' if line == prefix else ' '}{word}"
    return [*lines, line]


def inputs_conf() -> str:
    """default/inputs.conf: each input's defaults."""
    blocks = []
    for modinput in INPUTS:
        blocks.append("\n".join([*_wrapped(modinput.defaults_comment, "# "), f"[{modinput.name}]",
                                 f"interval = {modinput.interval}", "python.version = python3",
                                 f"python.required = {PYTHON_REQUIRED}"]))  # fmt: skip
    return "# Generated from package/cloudtrail_firehose/inputs/arguments.py by python3 build.py generate.\n\n" + \
        "\n\n".join(blocks) + "\n"


def inputs_conf_spec() -> str:
    """README/inputs.conf.spec: each input's stanza and arguments."""
    blocks = []
    for modinput in INPUTS:
        lines = [f"[{modinput.name}://<name>]", *_wrapped(modinput.spec, "* ")]
        for argument in modinput.arguments:
            lines.append(f"{argument.name} = <{'integer' if argument.kind == 'number' else 'string'}>")
            lines.extend(_wrapped(argument.help, "* "))
        lines += ["python.version = {default|python|python3|python3.7|python3.9|python3.13|latest}",
                  "* default/inputs.conf sets python3.", "python.required = <comma-separated Python versions>",
                  *_wrapped(f'default/inputs.conf sets "{PYTHON_REQUIRED}": Splunk 10.2 and later run the input on '
                            "3.13; 9.4 and 10.0 ignore the key and run it on 3.9. The shipped code and libraries run "
                            "on both.", "* ")]  # fmt: skip
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
