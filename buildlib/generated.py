"""Files generated from the code and committed, so a review shows what changed in them:

    default/inputs.conf, README/inputs.conf.spec    from the modular inputs' arguments (inputs/arguments.py)
    README/cloudtrail_firehose.conf.spec    from the settings schema (package/.../settings.py)
    aws/template.yaml's Parameters          from the settings schema
    aws/deploy_policy.json                  from the template and the app's AWS calls
                                            (tests/standins/deploy_permissions.py)
    default/transforms.conf's VPC Flow Logs extractions, between marker comments, from the record formats
                                            (sources/vpcflow.py FORMATS)

`python3 build.py generate` rewrites them; `python3 build.py` packages only when none differs, and the
tests fail while one does. Runs in .venv (the deploy policy needs cfn-lint's resource schemas):

    .venv/bin/python -m buildlib.generated [--check]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from buildlib import APP_ID, PACKAGE_SRC, ROOT

TEMPLATE = PACKAGE_SRC / "aws" / "template.yaml"


def _conf_spec() -> str:
    from cloudtrail_firehose import settings as schema

    return schema.conf_spec()


def _template() -> str:
    from cloudtrail_firehose import settings as schema

    return schema.with_template_parameters(TEMPLATE.read_text(encoding="utf-8"))


def _deploy_policy() -> str:
    import deploy_permissions

    return json.dumps(deploy_permissions.policy_document(), indent=2) + "\n"


def _inputs_conf() -> str:
    from cloudtrail_firehose.inputs import arguments

    return arguments.inputs_conf()


def _transforms_conf() -> str:
    from cloudtrail_firehose.sources import vpcflow

    return vpcflow.with_transforms((ROOT / "default" / "transforms.conf").read_text(encoding="utf-8"))


def _inputs_conf_spec() -> str:
    from cloudtrail_firehose.inputs import arguments

    return arguments.inputs_conf_spec()


# In order: the deploy policy is computed from the template as written.
GENERATED: tuple[tuple[Path, Callable[[], str]], ...] = (
    (ROOT / "default" / "inputs.conf", _inputs_conf),
    (ROOT / "README" / "inputs.conf.spec", _inputs_conf_spec),
    (ROOT / "README" / f"{APP_ID}.conf.spec", _conf_spec),
    (TEMPLATE, _template),
    (ROOT / "default" / "transforms.conf", _transforms_conf),
    (PACKAGE_SRC / "aws" / "deploy_policy.json", _deploy_policy),
)


def differing(write: bool = False) -> list[Path]:
    """The generated files whose committed text is not what the code generates (rewritten when write)."""
    wanted = [str(ROOT / p) for p in ("package", "tests/standins", "tests/helpers")]
    sys.path[:0] = [p for p in wanted if p not in sys.path]
    changed = []
    for path, generate in GENERATED:
        text = generate()
        if path.read_text(encoding="utf-8") != text:
            changed.append(path)
            if write:
                path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = differing(write=not check)
    for path in changed:
        print(f"{'differs' if check else 'regenerated'}: {path.relative_to(ROOT)}")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
