"""The .spl that build.py makes: what is in it, what is not, and that its lib/ works on each Python Splunk
gives apps (3.9 on Splunk 9.4 and 10.0, 3.13 on 10.2 and later: inputs.conf.spec, python.required)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cloudtrail_firehose import settings as schema
from cloudtrail_firehose import sources
from cloudtrail_firehose.aws.services import APP_SERVICES, OPERATIONS_ONLY, SHIPPED_SERVICES
from cloudtrail_firehose.sources import CLOUDTRAIL
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd
from splunk_conf import parse_conf, read_conf

import buildlib
from buildlib import appinspect, environment, packaging, tiers, vendoring

# The project's own development files, at the app's top level.
FORBIDDEN_TOP = {"tests", "bench", "docs", "requirements", "package", "build", "dist", "build.py", "buildlib",
                 "hec_tier", "pyproject.toml", "README.md", ".gitignore", ".ci", ".venv", ".git"}  # fmt: skip
# Caches, anywhere (vendored libraries included).
FORBIDDEN_ANYWHERE = {"__pycache__", ".pytest_cache", ".ruff_cache", ".git", ".venv"}
FORBIDDEN_SUFFIXES = (".pyc", ".pyo")
# The Pythons that run the built app's scripts; the tests run from the 3.13 environment.
SPLUNK_PYTHONS = {"3.9": environment.find_python(environment.OLDEST_PYTHON), "3.13": sys.executable}


@pytest.fixture(params=sorted(SPLUNK_PYTHONS))
def splunk_python(request: pytest.FixtureRequest) -> tuple[list[int], str]:
    """(version, interpreter) for each Python Splunk runs app scripts on."""
    executable = SPLUNK_PYTHONS[request.param]
    if executable is None:
        pytest.skip("no Python 3.9 on this machine (pyenv install 3.9, or set CLOUDTRAIL_FIREHOSE_PYTHON39)")
    return [int(part) for part in request.param.split(".")], executable


def test_spl_is_a_tar_gz_with_the_app_folder_at_the_top(built_app):
    assert tarfile.is_tarfile(built_app.spl)
    assert built_app.spl.name == f"cloudtrail_firehose-{packaging.app_version()}.spl"
    names = built_app.names()
    assert {name.split("/")[0] for name in names} == {"cloudtrail_firehose"}
    for required in (
        "app.manifest",
        "LICENSE.txt",
        "default/app.conf",
        "default/data/ui/nav/default.xml",
        "default/data/ui/views/user_activity.xml",
        "metadata/default.meta",
        "static/appIcon.png",
        "bin/cloudtrail_firehose_bootstrap.py",
        "lib/cloudtrail_firehose/__init__.py",
        "lib/boto3/__init__.py",
        "lib/botocore/__init__.py",
        "lib/splunklib/modularinput/__init__.py",
    ):
        assert f"cloudtrail_firehose/{required}" in names, required


def test_spl_holds_no_tests_docs_build_scripts_or_caches(built_app):
    offenders = []
    for name in built_app.names():
        parts = name.split("/")[1:]
        if (
            (parts and parts[0] in FORBIDDEN_TOP)
            or FORBIDDEN_ANYWHERE.intersection(parts)
            or name.endswith(FORBIDDEN_SUFFIXES)
            or parts[:2] == ["lib", "bin"]  # console scripts of the vendored packages
        ):
            offenders.append(name)
    assert offenders == []


def test_spl_files_are_not_writable_by_others_and_belong_to_nobody(built_app):
    with tarfile.open(built_app.spl) as archive:
        for member in archive.getmembers():
            assert member.mode & 0o022 == 0, member.name
            assert (member.uid, member.gid, member.uname) == (0, 0, ""), member.name
            assert member.isdir() or member.isfile(), f"links are not allowed: {member.name}"


def test_spl_fits_the_1_5_mb_budget(built_app):
    assert packaging.MAX_SPL_BYTES == 1536 * 1024
    assert built_app.spl.stat().st_size <= packaging.MAX_SPL_BYTES


IMPORT_EVERYTHING = """
import importlib, json, sys, warnings
from pathlib import Path
lib = Path(sys.argv[1])
sys.path.insert(0, str(lib))
warnings.simplefilter("ignore")
names = []
for path in sorted(lib.rglob("*.py")):
    parts = path.relative_to(lib).with_suffix("").parts
    names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as error:
        failed[name] = f"{type(error).__name__}: {error}"
# The API models ship without their documentation: a call is still validated and serialized from them.
import boto3
from botocore import serialize, validate
client = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x").client("s3", region_name="eu-west-1")
operation = client.meta.service_model.operation_model("PutObject")
params = {"Bucket": "bucket", "Key": "key", "Body": b"x"}
validate.validate_parameters(params, operation.input_shape)
request = serialize.create_serializer(operation.metadata["protocol"]).serialize_to_request(params, operation)
print(json.dumps({"python": list(sys.version_info[:2]), "modules": names, "failed": failed,
                  "documentation": operation.documentation, "method": request["method"],
                  "url": request["url_path"]}))
"""


def test_every_shipped_module_imports_on_each_splunk_python_from_the_built_app(built_app, splunk_python):
    """Nothing the shipped code needs was left out, and nothing shipped needs what is not there."""
    version, python = splunk_python
    result = subprocess.run([python, "-S", "-c", IMPORT_EVERYTHING, str(built_app.app_dir / "lib")],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=True,
                            timeout=300)  # fmt: skip
    probe = json.loads(result.stdout)
    assert probe["python"] == version
    assert probe["failed"] == {}
    assert (probe["documentation"], probe["method"], probe["url"]) == ("", "PUT", "/bucket/key")
    modules = set(probe["modules"])
    assert {"cloudtrail_firehose.inputs.recovery_input", "splunklib.modularinput", "botocore.client"} <= modules
    assert not {m for m in modules if m.startswith(("splunklib.ai", "splunklib.searchcommands", "botocore.crt.auth"))}


def test_only_license_files_and_splunklibs_metadata_are_kept_of_the_dist_info(built_app):
    lib = built_app.app_dir / "lib"
    assert [p.name.split("-")[0] for p in lib.glob("*.dist-info")] == list(vendoring.KEPT_DIST_INFO)
    requirements = (buildlib.REQUIREMENTS / "runtime.txt").read_text().split()
    distributions = {line.split("==")[0].replace("-", "_") for line in requirements if "==" in line}
    licensed = {p.name for p in (lib / "licenses").iterdir() if any(p.glob("LICENSE*"))}
    assert licensed == distributions  # every vendored library keeps its license text


CLIENT_CALL = re.compile(r"""(?:client|\))\(\s*["']([a-z0-9-]+)["']""")  # session.client("s3"), clients(...)("s3")


def test_the_app_makes_clients_for_exactly_the_services_it_ships():
    """aws/services.py is the list of API models that ship: no client outside it, no model never used."""
    package = buildlib.PACKAGE_SRC
    used = {name for path in package.rglob("*.py")
            for name in re.findall(CLIENT_CALL, path.read_text(encoding="utf-8"))}  # fmt: skip
    assert used == set(APP_SERVICES)


def test_botocore_ships_only_the_services_the_app_uses(built_app):
    data = built_app.app_dir / "lib" / "botocore" / "data"
    assert {p.name for p in data.iterdir() if p.is_dir()} == set(SHIPPED_SERVICES)
    assert not list(data.glob("*/*/examples-1.json"))
    boto3_data = {p.name for p in (built_app.app_dir / "lib" / "boto3" / "data").iterdir()}
    assert boto3_data <= set(SHIPPED_SERVICES)


PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])  # the app's bin/, as Splunk runs a script from there
import cloudtrail_firehose_bootstrap
import boto3, botocore, botocore.exceptions, splunklib.client, splunklib.modularinput
import cloudtrail_firehose.log
session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="us-east-1")
created = [session.client(name).meta.service_model.service_name for name in json.loads(sys.argv[2])]
try:
    session.client("sqs")
    unknown = "created"
except botocore.exceptions.UnknownServiceError:
    unknown = "refused"
ec2 = session.client("ec2")
cut = {"operations": sorted(ec2.meta.service_model.operation_names),
       "paginates": [ec2.can_paginate("describe_vpcs"), ec2.can_paginate("describe_flow_logs")]}
print(json.dumps({
    "python": list(sys.version_info[:2]),
    "boto3": boto3.__file__, "botocore": botocore.__file__, "splunklib": splunklib.client.__file__,
    "created": created, "sqs": unknown, "ec2": cut,
    "csm_monitor": repr(session._session._get_internal_component("monitor")),
}))
"""


def run_probe(app_dir: Path, services, python: str = sys.executable, **env) -> dict:
    # -S: no site-packages, so nothing can come from the test environment's own boto3.
    result = subprocess.run(
        [python, "-S", "-c", PROBE, str(app_dir / "bin"), json.dumps(list(services))],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(app_dir), **env},
        check=True,
    )
    return json.loads(result.stdout)


def test_built_lib_creates_every_client_the_app_uses_on_each_splunk_python(built_app, splunk_python):
    version, python = splunk_python
    probe = run_probe(built_app.app_dir, SHIPPED_SERVICES, python)
    assert probe["python"] == version
    lib = str(built_app.app_dir / "lib")
    for module in ("boto3", "botocore", "splunklib"):
        assert probe[module].startswith(lib), module
    assert len(probe["created"]) == len(SHIPPED_SERVICES)
    assert probe["sqs"] == "refused"  # trimmed away: proves the shipped data is the trimmed set
    # aws/services.py OPERATIONS_ONLY: EC2's model ships cut to the operations the app calls, with their paginators.
    assert probe["ec2"] == {"operations": sorted(OPERATIONS_ONLY["ec2"]), "paginates": [True, True]}


def test_the_app_calls_only_the_operations_a_cut_model_keeps():
    import deploy_permissions

    for service, kept in OPERATIONS_ONLY.items():
        called = {op.split(":")[1] for op in deploy_permissions.direct_operations() if op.startswith(f"{service}:")}
        assert called <= set(kept), f"add {sorted(called - set(kept))} to OPERATIONS_ONLY[{service!r}]"


def test_client_side_monitoring_stays_off_even_when_configured(built_app):
    probe = run_probe(
        built_app.app_dir, APP_SERVICES, AWS_CSM_ENABLED="true", AWS_CSM_PORT="31000", AWS_CSM_HOST="127.0.0.1"
    )
    assert probe["csm_monitor"] == "None"


def test_unpatched_botocore_has_the_udp_socket_and_the_built_one_does_not(built_app):
    installed = vendoring.install_runtime_libraries(Path(sys.executable))
    assert [hit.split(":")[0] for hit in vendoring.udp_socket_calls(installed / "botocore")] == ["session.py"]
    assert vendoring.udp_socket_calls(built_app.app_dir / "lib") == []


def _copy_botocore(tmp_path: Path) -> Path:
    installed = vendoring.install_runtime_libraries(Path(sys.executable))
    lib = tmp_path / "lib"
    shutil.copytree(installed / "botocore", lib / "botocore", ignore=shutil.ignore_patterns("data"))
    return lib


def test_botocore_patch_refuses_another_botocore_version(tmp_path):
    lib = _copy_botocore(tmp_path)
    init = lib / "botocore" / "__init__.py"
    init.write_text(init.read_text().replace(vendoring.BOTOCORE_CSM_PATCH["version"], "9.9.9"))
    with pytest.raises(buildlib.BuildError, match=r"botocore 9\.9\.9 is pinned.*update BOTOCORE_CSM_PATCH"):
        vendoring.patch_botocore(lib)


def test_botocore_patch_refuses_when_the_code_to_patch_changed(tmp_path):
    lib = _copy_botocore(tmp_path)
    session = lib / "botocore" / "session.py"
    session.write_text(session.read_text().replace("def _create_csm_monitor", "def _make_csm_monitor"))
    with pytest.raises(buildlib.BuildError, match="client-side-monitoring code to patch was not found"):
        vendoring.patch_botocore(lib)


def test_unknown_service_in_the_app_list_stops_the_build(tmp_path):
    data = tmp_path / "botocore" / "data"
    (data / "s3").mkdir(parents=True)
    with pytest.raises(buildlib.BuildError, match=r"no service named \['not-a-service'\]"):
        vendoring.trim_service_data(data, ("s3", "not-a-service"))


def test_versions_must_agree_between_app_conf_and_manifest(tmp_path):
    assert packaging.app_version() == json.loads((buildlib.ROOT / "app.manifest").read_text())["info"]["id"]["version"]
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "app.conf").write_text("[launcher]\nversion = 1.0.0\n[id]\nversion = 1.0.0\n")
    (tmp_path / "app.manifest").write_text(json.dumps({"info": {"id": {"version": "1.0.1"}}}))
    with pytest.raises(buildlib.BuildError, match=r"versions disagree: \['1\.0\.0', '1\.0\.1'\]"):
        packaging.app_version(tmp_path)


def test_appinspect_failures_and_errors_fail_the_build_and_are_listed():
    report = {
        "summary": {"failure": 1, "error": 0, "warning": 3, "success": 90},
        "reports": [
            {
                "groups": [
                    {
                        "checks": [
                            {"name": "check_ok", "result": "success", "messages": []},
                            {
                                "name": "check_for_python_udp_network_communications",
                                "result": "failure",
                                "messages": [
                                    {
                                        "message": "Please check for\n UDP",
                                        "message_filename": "lib/botocore/session.py",
                                        "message_line": 286,
                                    }
                                ],
                            },
                        ]
                    }
                ]
            }
        ],
    }
    assert not appinspect.passed(report)
    assert appinspect.problems(report) == [
        "failure: check_for_python_udp_network_communications lib/botocore/session.py:286 Please check for UDP"
    ]
    report["summary"]["failure"] = 0
    assert appinspect.passed(report)
    report["summary"]["error"] = 2
    assert not appinspect.passed(report)
    report["summary"].update(error=0, future_failure=1)  # fails in a future Splunk Cloud vetting
    assert not appinspect.passed(report)


@pytest.mark.parametrize("script", ["firehose_recovery.py", "firehose_health.py"])
def test_the_built_modular_inputs_answer_scheme_from_lib_on_each_splunk_python(built_app, script, splunk_python):
    # -S: only the app's own lib/ (via the bootstrap), as inside Splunk.
    result = subprocess.run([splunk_python[1], "-S", str(built_app.app_dir / "bin" / script), "--scheme"],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    scheme = ET.fromstring(result.stdout)
    assert scheme.findtext("title")
    assert scheme.find("endpoint/args/arg") is not None


def test_every_python_entry_point_admits_both_splunk_pythons_and_the_manifest_names_the_oldest_splunk():
    """python.required (inputs.conf.spec and restmap.conf.spec of 10.2) lists 3.9 and 3.13; 9.4 and 10.0 ignore it."""
    wanted = ", ".join("{}.{}".format(*v) for v in (environment.OLDEST_PYTHON, environment.PYTHON_VERSION))
    default = buildlib.ROOT / "default"
    stanzas = {**read_conf(default / "inputs.conf"), **read_conf(default / "restmap.conf")}
    scripts = {name: keys for name, keys in stanzas.items() if "python.version" in keys}
    assert set(scripts) == {"firehose_recovery", "firehose_health", "script:cloudtrail_firehose_setup"}
    assert {name: keys.get("python.required") for name, keys in scripts.items()} == dict.fromkeys(scripts, wanted)
    manifest = json.loads((buildlib.ROOT / "app.manifest").read_text(encoding="utf-8"))
    assert manifest["platformRequirements"]["splunk"]["Enterprise"] == ">=9.4.0"


# Splunk's persistent REST handler protocol, with splunk.persistconn.application (Splunk's own module) stood in
# for: the built bin/cloudtrail_firehose_setup.py answers GET schema and GET config through a splunkd.
HANDLER_PROBE = """
import json, os, sys, types
bin_dir, splunkd_url, token = sys.argv[1:4]
application = types.ModuleType("splunk.persistconn.application")
application.PersistentServerConnectionApplication = type("PersistentServerConnectionApplication", (), {})
for name in ("splunk", "splunk.persistconn"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["splunk.persistconn.application"] = application
sys.path.insert(0, bin_dir)
import cloudtrail_firehose_setup
handler = cloudtrail_firehose_setup.SetupHandler("", "")
answers = []
for path in ("schema", "config"):
    request = {"method": "GET", "path_info": path, "server": {"rest_uri": splunkd_url}, "session": {"authtoken": token}}
    answer = handler.handle(json.dumps(request))
    answers.append([answer["status"], json.loads(answer["payload"])])
print(json.dumps({"python": list(sys.version_info[:2]), "answers": answers}))
"""


def test_the_built_setup_handler_answers_on_each_splunk_python(built_app, splunk_python):
    version, python = splunk_python
    splunkd = FakeSplunkd()
    try:
        result = subprocess.run([python, "-S", "-c", HANDLER_PROBE, str(built_app.app_dir / "bin"), splunkd.url,
                                 ADMIN_TOKEN], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                                timeout=120)  # fmt: skip
    finally:
        splunkd.close()
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout)
    assert probe["python"] == version
    (schema_status, schema), (config_status, config) = probe["answers"]
    assert (schema_status, config_status) == (200, 200), probe
    assert {"region", "index"} <= {setting["name"] for setting in schema["settings"]}
    assert "config" in config


# --- the HEC-tier package ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def hec_tier(tmp_path_factory) -> Path:
    """dist/cloudtrail_firehose_hec-<version>.spl as build.py makes it, unpacked."""
    out = tmp_path_factory.mktemp("hec_tier")
    spl = packaging.package(packaging.assemble_hec_tier(out=out / "build"), dist=out / "dist")
    assert spl.name == f"cloudtrail_firehose_hec-{packaging.app_version()}.spl"
    with tarfile.open(spl) as archive:
        archive.extractall(out / "unpacked", filter="data")
    return out / "unpacked" / "cloudtrail_firehose_hec"


def test_hec_tier_package_holds_index_time_configuration_only(hec_tier):
    files = {p.relative_to(hec_tier).as_posix() for p in hec_tier.rglob("*") if p.is_file()}
    assert files == {"app.manifest", "LICENSE.txt", "README.txt", "default/app.conf", "default/props.conf",
                     "default/inputs.conf", "metadata/default.meta"}  # fmt: skip


def test_hec_tier_props_are_the_full_apps_index_time_settings_of_every_sources_stanzas(hec_tier):
    full = read_conf(buildlib.ROOT / "default" / "props.conf")
    expected = {stanza: {key: value for key, value in full[stanza].items() if tiers.is_index_time(key)}
                for s in sources.SOURCES for stanza in (s.sourcetype, f"source::{s.token.source}")}  # fmt: skip
    assert {"LINE_BREAKER", "TIME_PREFIX", "TIME_FORMAT", "SEDCMD-cloudtrail_firehose_vpcflow_unwrap"} <= set(
        expected["aws:cloudwatchlogs:vpcflow"])
    assert read_conf(hec_tier / "default" / "props.conf") == {"default": {}, **expected}
    cloudtrail = expected["aws:cloudtrail"]
    assert {"LINE_BREAKER", "SHOULD_LINEMERGE", "TRUNCATE", "TIME_PREFIX", "TIME_FORMAT", "TZ", "MAX_DAYS_AGO"} <= set(
        cloudtrail
    )
    assert not {key for key in cloudtrail if key == "KV_MODE" or key.startswith(("EVAL-", "FIELDALIAS-", "LOOKUP-"))}
    assert expected[f"source::{CLOUDTRAIL.token.source}"] == {
        key: cloudtrail[key] for key in ("SHOULD_LINEMERGE", "LINE_BREAKER", "TRUNCATE")
    }


def test_a_props_key_of_unknown_time_stops_the_build_and_continued_values_follow_their_key():
    with pytest.raises(tiers.TierError, match=r"'NEW_SETTING' is neither in .*INDEX_TIME_KEYS"):
        tiers.index_time_props("[aws:cloudtrail]\nNEW_SETTING = 1\n", ("aws:cloudtrail",))
    with pytest.raises(tiers.TierError, match=r"lacks the stanzas \['aws:cloudtrail'\]"):
        tiers.index_time_props("[other]\nTZ = UTC\n", ("aws:cloudtrail",))
    props = ("[aws:cloudtrail]\nEVAL-x = a \\\nTZ = b\nTIME_PREFIX = c\\\nd\n"
             "[other]\nTZ = UTC\n")  # fmt: skip
    assert parse_conf(tiers.index_time_props(props, ("aws:cloudtrail",))) == {
        "default": {}, "aws:cloudtrail": {"TIME_PREFIX": "c\nd"}
    }  # fmt: skip


def test_hec_tier_inputs_are_disabled_with_acknowledgement_on_and_each_sources_token_source(hec_tier):
    inputs = read_conf(hec_tier / "default" / "inputs.conf")
    # no [http]: HEC stays as the admin set it
    assert set(inputs) == {"default", *(f"http://{s.token.name}" for s in sources.SOURCES)}
    props = read_conf(hec_tier / "default" / "props.conf")
    for source in sources.SOURCES:
        stanza, token = inputs[f"http://{source.token.name}"], source.token
        index = schema.BY_NAME[source.index_setting].default
        assert stanza == {"disabled": "1", "useACK": "1", "source": token.source, "sourcetype": token.sourcetype,
                          "index": index, "indexes": index}  # fmt: skip
        # The index-time settings are keyed on what the token sets.
        assert {f"source::{stanza['source']}", stanza["sourcetype"]} <= set(props)


def test_hec_tier_app_has_its_own_id_and_the_apps_version(hec_tier):
    app = read_conf(hec_tier / "default" / "app.conf")
    version = packaging.app_version()
    assert app["package"]["id"] == app["id"]["name"] == "cloudtrail_firehose_hec" != buildlib.APP_ID
    assert app["id"]["version"] == app["launcher"]["version"] == version
    assert app["ui"]["is_visible"] == "false"
    manifest = json.loads((hec_tier / "app.manifest").read_text())
    assert manifest["info"]["id"] == {"group": None, "name": "cloudtrail_firehose_hec", "version": version}
    assert manifest["targetWorkloads"] == ["_indexers", "_forwarders"]
    assert read_conf(hec_tier / "metadata" / "default.meta")["props"] == {"export": "system"}


def test_hec_tier_is_inspected_with_every_general_check_but_the_two_splunk_cloud_hec_stanza_rules():
    listing = "\n".join(f"    - Name: {name}\n        - Tags: splunk_appinspect" for name in (
        "check_package_compression", "check_inputs_conf_for_http_inputs",
        "check_inputs_conf_for_http_global_usage", "check_for_indexer_synced_configs"))  # fmt: skip
    kept = ["check_package_compression", "check_for_indexer_synced_configs"]
    assert tiers.checks_for_enterprise(listing) == kept
    with pytest.raises(tiers.TierError, match="no longer lists"):
        tiers.checks_for_enterprise("    - Name: check_package_compression\n")


def test_generated_files_are_only_rewritten_by_generate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A check names the file that differs and leaves it; `build.py generate` rewrites it, then all agree."""
    from buildlib import generated

    target = tmp_path / "cloudtrail_firehose.conf.spec"
    target.write_text("as committed\n")
    monkeypatch.setattr(generated, "GENERATED", ((target, lambda: "as generated\n"),))
    assert generated.differing() == [target]
    assert target.read_text() == "as committed\n"
    assert generated.differing(write=True) == [target]
    assert target.read_text() == "as generated\n"
    assert generated.differing() == []


@pytest.mark.slow
def test_the_committed_generated_files_are_current():
    from buildlib import generated

    assert generated.differing() == [], "run python3 build.py generate and review the diff"
