"""The CloudFormation template: cfn-lint and checkov clean for every option combination the driver can produce
(linted one by one, or as a combination the linters cannot tell apart from it)
(its Parameters are generated from the settings schema: tests/test_settings.py; tests/aws/test_aws_iam.py
evaluates its policies)."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from cfn_render import NAME_PROPERTY, VPC_IDS, Rendered, decoded, driver_combinations, every_choice, template_text
from cfnlint.api import ManualArgs, lint
from cfnlint.config import ConfigMixIn
from cfnlint.runner import Runner
from cloudtrail_firehose import settings as schema
from cloudtrail_firehose import sources
from cloudtrail_firehose.aws import rendering
from cloudtrail_firehose.aws.pipeline import TEMPLATE_PATH
from cloudtrail_firehose.aws.settings import PipelineSettings

ROOT = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, ... as plain values: enough to inspect Parameters and Metadata."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template() -> dict:
    return yaml.load(TEMPLATE_PATH.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


COMBINATIONS = driver_combinations()
LINT_CONFIG = ManualArgs(regions=["us-east-1"])


@functools.cache
def lint_rules():
    """cfn-lint's rules, loaded once (~0.25 s a time) and run on each template, as its command line does."""
    return Runner(ConfigMixIn(**LINT_CONFIG)).rules


def with_defaults(text: str, values: dict[str, str]) -> str:
    """The template with these parameter defaults, so the linters see one option combination."""
    out = text
    for name, value in values.items():
        start = out.index(f"\n  {name}:\n") + 1
        following = re.search(r"\n  \S|\n\S", out[start:])
        end = start + following.start() + 1 if following else len(out)
        block = re.sub(r"\n    Default:[^\n]*", "", out[start:end])
        default = value if "\n    Type: Number" in block else json.dumps(value)
        block = block.replace("\n", f"\n    Default: {default}\n", 1)
        out = out[:start] + block + out[end:]
    return out


@pytest.mark.parametrize("name", list(COMBINATIONS))
@pytest.mark.slow
def test_cfn_lint_is_clean_for_every_option_combination(name):
    rendered = with_defaults(template_text(COMBINATIONS[name]), COMBINATIONS[name])
    matches = lint(rendered, rules=lint_rules(), config=LINT_CONFIG)
    assert [str(m) for m in matches] == []


def checkov() -> str:
    executable = os.environ.get("CLOUDTRAIL_FIREHOSE_CHECKOV") or str(ROOT / ".venv/tools/checkov/bin/checkov")
    if not Path(executable).exists():
        pytest.fail("checkov is not installed: run the tests with 'python3 build.py test', which installs it")
    return executable


@pytest.mark.slow
def test_checkov_finds_no_failed_check_for_any_option_combination_and_every_skip_is_explained_and_needed(tmp_path):
    # One checkov run over one rendered template per combination (checkov reads parameter defaults).
    for name, values in COMBINATIONS.items():
        (tmp_path / f"{name}.yaml").write_text(with_defaults(template_text(values), values))
    result = subprocess.run(
        [checkov(), "-d", str(tmp_path), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=1200, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )  # fmt: skip
    report = json.loads(result.stdout)
    failed = [(Path(c["file_path"]).stem, c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 40 * len(COMBINATIONS)
    used = {(c["check_id"], c["resource"].split(".")[-1]) for c in report["results"]["skipped_checks"]}
    declared = set()
    for logical_id, resource in template()["Resources"].items():  # the prototype flow log declares no skip
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{logical_id} {skip['id']} needs a reason"
            declared.add((skip["id"], logical_id))
    assert declared == used


def reads(node, where: str = "") -> list[tuple[str, str]]:
    """(name, how) for every parameter, resource or condition a template node reads. how: "value" where a Ref is a
    resource property's whole value (also in a list of them), else "computed" (in a function, a Sub, a rule, an
    output, a condition)."""
    if isinstance(node, list):
        return [found for item in node for found in reads(item, where)]
    if not isinstance(node, dict):
        return []
    if len(node) == 1:
        (function, argument), = node.items()
        if function == "Ref":
            return [] if argument.startswith("AWS::") else [(argument, where or "computed")]
        if function == "Fn::GetAtt":
            return [((argument if isinstance(argument, list) else argument.split("."))[0], "computed")]
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            named = re.findall(r"\$\{([^}!]+)\}", text)
            return [(n.split(".")[0], "computed") for n in named if n not in variables and not n.startswith("AWS::")] \
                + reads(variables, "computed")
        if function in ("Fn::If", "Condition"):
            condition = argument[0] if function == "Fn::If" else argument
            return [(condition, "computed")] + (reads(argument[1:], "computed") if function == "Fn::If" else [])
        if function.startswith("Fn::"):
            return reads(argument, "computed")
    return [found for key, value in node.items() for found in
            (reads(value, where) if key != "Condition" or not isinstance(value, str) else [(value, "computed")])]


def test_the_linted_combinations_stand_for_every_combination_of_every_option():
    """cfn-lint and checkov judge each resource by its properties as the parameter defaults resolve them (and the
    resources and conditions it names). Over a thousand combinations of the options exist (cfn_render.every_choice);
    each is linted as one that the linters cannot tell apart from it, by two facts of the template checked here:
    - each source's part (sources/: TemplatePart) reads only its own and the core's names, and the core only its
      own, so a part is judged the same whatever the other source's choices are;
    - a parameter that the template only ever passes on as a property's whole value (VpcFlowTrafficType, ...) makes
      no resource appear, go or change shape: each of its values need only be linted once.
    So each part's conditions and its other parameters' values, in every combination, occur in a linted one."""
    template = decoded(TEMPLATE_PATH.read_text())
    parts = {s.name: s.template.sections for s in sources.SOURCES} | {"core": sources.CORE_TEMPLATE.sections}
    owner = {name: part for part, sections in parts.items() for names in sections.values() for name in names}
    read_by: dict[str, set[str]] = {part: set() for part in parts}
    how_read: dict[str, set[str]] = {}
    for part, sections in parts.items():
        for section, names in sections.items():
            for name in names:
                node = template[section][name]
                if section == "Resources":  # a property's whole value is "value"; the rest is computed
                    found = reads({k: v for k, v in node.items() if k != "Properties"}) + reads(
                        {k: v for k, v in node.get("Properties", {}).items()}, "value")
                else:  # Rules make nothing: they refuse sets of parameters, none of which the driver produces
                    found = reads(node) if section in ("Conditions", "Outputs") else []
                for read, how in found:
                    assert owner[read] in (part, "core"), f"{part}'s {name} reads {owner[read]}'s {read}"
                    read_by[part].add(read)
                    how_read.setdefault(read, set()).add(how)
    values_only = {name for name, how in how_read.items() if how == {"value"} and name in template["Parameters"]}
    assert {"VpcFlowTrafficType", "VpcFlowMaxAggregationInterval", "VpcFlowLogFormat"} <= values_only

    def judged(parameters: dict[str, str]) -> set[tuple]:
        """Per part: the values of what it reads (a condition's truth, a parameter's value, whether a resource is)."""
        rendered = Rendered(parameters, "111111111111", "us-east-1")
        state = {**rendered.conditions, **rendered.parameters, **{r: r in rendered.resources for r in owner
                                                                  if r in template["Resources"]}}  # fmt: skip
        return {(part, tuple(sorted((name, state[name]) for name in names - values_only)))
                for part, names in read_by.items()}  # fmt: skip

    linted = set().union(*(judged(p) for p in COMBINATIONS.values()))
    every = every_choice()
    assert len(every) > 1000
    missing = set().union(*(judged(p) for p in every)) - linted
    assert not missing, sorted(missing)[:3]
    for name in values_only:
        assert {p.get(name) for p in every} <= {p.get(name) for p in COMBINATIONS.values()}, name


def test_iam_policies_name_their_resources():
    for logical_id, resource in template()["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement.get("Resource") not in ("*", ["*"]), f"{logical_id}: {policy['PolicyName']}"


def test_the_import_template_brings_in_only_the_buckets_and_lints_clean():
    """What apply imports after a destroy kept the buckets: they, as the template declares them, and nothing else."""
    from cloudtrail_firehose.aws.kept_buckets import import_template

    text = import_template(["FailedDeliveryBucket", "TrailBucket"])
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    full = template()
    assert set(document["Resources"]) == {"FailedDeliveryBucket", "TrailBucket"}
    assert "Outputs" not in document  # an import cannot add Outputs
    for name, resource in document["Resources"].items():
        assert resource == full["Resources"][name]
        assert resource["DeletionPolicy"] == "Retain"
    assert document["Parameters"] == full["Parameters"]
    errors = [str(m) for m in lint(text, rules=lint_rules(), config=LINT_CONFIG) if m.rule.id.startswith("E")]
    assert errors == []


# Each name the stack gives, by what names it: (most characters, pattern it must match whole, the document).
NAME_RULES = {
    "AWS::S3::Bucket": (63, r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9](?!.*\.\.)[a-z0-9.-]*[a-z0-9]"
                            r"(?<!-s3alias)(?<!--ol-s3)(?<!\.mrap)(?<!--x-s3)(?<!--table-s3)",
                        'Amazon S3 User Guide, "General purpose bucket naming rules"'),
    "AWS::CloudTrail::Trail": (128, r"[A-Za-z0-9](?![\s\S]*[._-][._-])[A-Za-z0-9._-]*[A-Za-z0-9]",
                               'AWS CloudTrail User Guide, "Trail naming requirements"'),
    "AWS::KinesisFirehose::DeliveryStream": (64, r"[a-zA-Z0-9_.-]+",
                                             'Amazon Data Firehose API Reference, "CreateDeliveryStream"'),
    "AWS::IAM::Role": (64, r"[A-Za-z0-9_+=,.@-]+", 'IAM API Reference, "CreateRole" (RoleName)'),
    "AWS::Lambda::Function": (64, r"[a-zA-Z0-9_-]+", 'AWS Lambda API Reference, "CreateFunction" (FunctionName)'),
    "AWS::Logs::LogGroup": (512, r"[.\-_/#A-Za-z0-9]+", 'CloudWatch Logs API Reference, "CreateLogGroup"'),
    "AWS::Logs::LogStream": (512, r"[^:*]+", 'CloudWatch Logs API Reference, "CreateLogStream"'),
    "AWS::Logs::SubscriptionFilter": (512, r"[^:*]+", 'CloudWatch Logs API Reference, "PutSubscriptionFilter"'),
    "stack": (128, r"[a-zA-Z][-a-zA-Z0-9]*", 'AWS CloudFormation API Reference, "CreateStack" (StackName)'),
    "secret": (512, r"[A-Za-z0-9/_+=.@-]+", 'AWS Secrets Manager API Reference, "CreateSecret" (Name)'),
}  # fmt: skip


def test_the_longest_allowed_prefix_gives_valid_names_for_every_kind_in_the_longest_region():
    """settings.NAME_PREFIX_MAX: every name the stack and the app give, with the longest prefix, in the region with
    the longest name, obeys the naming rules of what it names."""
    prefix = ("ab-" * 9)[: schema.NAME_PREFIX_MAX - 1] + "z"
    assert len(prefix) == schema.NAME_PREFIX_MAX
    assert not schema.value_problems(schema.BY_NAME["name_prefix"], prefix)
    everything = next(n for n in COMBINATIONS if n.startswith("trail-") and "-org-" in n and n.endswith("-lambda"))
    flows = [n for n in COMBINATIONS if "vpc-" in n]  # flow logs created, and taken from a log group
    names = []
    for combination in [everything, *flows]:
        rendered = Rendered({**COMBINATIONS[combination], "NamePrefix": prefix}, "123456789012",
                            schema.LONGEST_REGION)  # fmt: skip
        names += [(r["Type"], rendered.name(lid)) for lid, r in rendered.resources.items()
                  if NAME_PROPERTY.get(r["Type"]) in r.get("Properties", {})]  # fmt: skip
        if combination == everything:
            buckets = [n for k, n in names if k == "AWS::S3::Bucket"]
    settings = PipelineSettings(region=schema.LONGEST_REGION, name_prefix=prefix)
    names += [("stack", settings.stack_name), ("secret", settings.hec_token_secret_name),
              ("secret", settings.vpcflow_hec_token_secret_name)]  # fmt: skip
    assert {kind for kind, _ in names} == set(NAME_RULES), "a kind of name is not checked"
    assert buckets == settings.bucket_names("123456789012")
    for kind, name in names:
        longest, pattern, document = NAME_RULES[kind]
        assert len(name) <= longest, f"{name!r} breaks {document}"
        assert re.fullmatch(pattern, name), f"{name!r} breaks {document}"
    assert max(len(n) for k, n in names if k == "AWS::S3::Bucket") == 63  # the limit is the tightest one



# --- one flow log per VPC (aws/rendering.py) ---------------------------------------------------------


def flow_logs(text: str) -> dict[str, dict]:
    parsed = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return {lid: r for lid, r in parsed["Resources"].items() if r["Type"] == "AWS::EC2::FlowLog"}


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_renderer_makes_one_flow_log_per_vpc_from_the_prototype_and_keeps_everything_else(count):
    raw = TEMPLATE_PATH.read_text()
    text = rendering.render(raw, VPC_IDS[:count])
    made = flow_logs(text)
    if count == 0:  # no VPC: only when CreateFlowLogs is false; the prototype stays, creating nothing
        assert text == raw
        return
    assert sorted(made) == sorted("VpcFlowLog" + v.removeprefix("vpc-") for v in VPC_IDS[:count])
    prototype = template()["Resources"]["VpcFlowLog"]
    for logical_id, resource in made.items():
        assert resource["Properties"]["ResourceId"] == "vpc-" + logical_id.removeprefix("VpcFlowLog")
        assert {**resource["Properties"], "ResourceId": None} == {**prototype["Properties"], "ResourceId": None}
        assert resource["Condition"] == prototype["Condition"] == "CreateFlowLogs"
    # Nothing else changes: the other resources, the comments and the generated Parameters.
    others = {lid: r for lid, r in template()["Resources"].items() if lid != "VpcFlowLog"}
    parsed = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    assert {lid: r for lid, r in parsed["Resources"].items() if lid not in made} == others
    assert {k: v for k, v in parsed.items() if k != "Resources"} == {k: v for k, v in template().items()
                                                                    if k != "Resources"}  # fmt: skip
    assert "vpc-00000000000000000" not in text
    if count == 1:
        assert text == raw.replace("\n  VpcFlowLog:\n", f"\n  VpcFlowLog{VPC_IDS[0][4:]}:\n").replace(
            "ResourceId: vpc-00000000000000000\n", f"ResourceId: {VPC_IDS[0]}\n")  # fmt: skip


def test_the_renderer_refuses_what_is_not_a_vpc_id_and_keeps_each_vpc_once():
    raw = TEMPLATE_PATH.read_text()
    for bad in ("vpc-XYZ", "subnet-0123456789abcdef0", "vpc-0123", "vpc-0a1b2c3d\n  Evil: x"):
        with pytest.raises(ValueError, match="not a VPC id"):
            rendering.render(raw, [bad])
    assert len(flow_logs(rendering.render(raw, [VPC_IDS[0], VPC_IDS[0]]))) == 1
    # A VPC keeps its logical id whatever the others are, so adding or removing one changes only that flow log.
    assert set(flow_logs(rendering.render(raw, VPC_IDS[:1]))) < set(flow_logs(rendering.render(raw, VPC_IDS)))


@pytest.mark.slow
def test_one_and_three_vpcs_lint_clean():
    name = next(n for n in COMBINATIONS if n.startswith("vpc-") and n.endswith("-direct"))
    for vpc_ids in (VPC_IDS[:1], VPC_IDS):
        text = with_defaults(template_text(COMBINATIONS[name], vpc_ids), COMBINATIONS[name])
        assert [str(m) for m in lint(text, rules=lint_rules(), config=LINT_CONFIG)] == []
        assert len(flow_logs(text)) == len(vpc_ids)
