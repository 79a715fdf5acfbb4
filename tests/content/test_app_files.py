"""The app's own Splunk files: identity, navigation, permissions, icons."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from splunk_conf import read_conf

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "default"
BUILTIN_VIEWS = {"search", "dashboards", "reports", "alerts", "datasets", "analytics_workspace"}


def test_app_id_is_the_same_everywhere():
    app = read_conf(DEFAULT / "app.conf")
    manifest = json.loads((ROOT / "app.manifest").read_text())
    assert app["package"]["id"] == app["id"]["name"] == manifest["info"]["id"]["name"] == "cloudtrail_firehose"
    assert app["launcher"]["version"] == app["id"]["version"] == manifest["info"]["id"]["version"]
    assert app["ui"]["is_visible"] == "true"
    assert app["ui"]["label"] == manifest["info"]["title"]
    assert (ROOT / manifest["info"]["license"]["text"]).is_file()


def test_setup_view_named_in_app_conf_exists():
    setup_view = read_conf(DEFAULT / "app.conf")["ui"].get("setup_view")
    if setup_view:
        assert (DEFAULT / "data" / "ui" / "views" / f"{setup_view}.xml").is_file()


def test_nav_opens_user_activity_and_every_view_it_names_exists():
    nav = ET.parse(DEFAULT / "data" / "ui" / "nav" / "default.xml").getroot()
    views = [v.get("name") for v in nav.iter("view") if v.get("name")]
    defaults = [v.get("name") for v in nav.iter("view") if v.get("default") == "true"]
    assert defaults == ["user_activity"]
    for name in views:
        assert name in BUILTIN_VIEWS or (DEFAULT / "data" / "ui" / "views" / f"{name}.xml").is_file(), name


def test_every_view_is_simple_xml_1_1():
    for path in (DEFAULT / "data" / "ui" / "views").glob("*.xml"):
        root = ET.parse(path).getroot()
        assert root.tag in ("dashboard", "form"), path.name
        assert root.get("version") == "1.1", f"{path.name}: Splunk Cloud needs version=\"1.1\""


def test_permissions_keep_writes_for_admins_and_export_search_time_knowledge():
    meta = read_conf(ROOT / "metadata" / "default.meta")
    assert meta[""]["access"] == "read : [ * ], write : [ admin, sc_admin ]"
    assert meta[""]["export"] == "none"
    for knowledge in ("props", "transforms", "eventtypes", "tags", "lookups", "macros"):
        assert meta[knowledge]["export"] == "system", knowledge
    for private in ("views", "nav", "savedsearches"):
        assert meta[private]["export"] == "none", private


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("appIcon.png", (36, 36)),
        ("appIcon_2x.png", (72, 72)),
        ("appIconAlt.png", (36, 36)),
        ("appIconAlt_2x.png", (72, 72)),
        ("appLogo.png", (160, 40)),
        ("appLogo_2x.png", (320, 80)),
    ],
)
def test_app_icons_have_the_sizes_splunk_web_expects(name, size):
    assert png_size(ROOT / "static" / name) == size


def test_data_macro_reads_cloudtrail_events():
    macros = read_conf(DEFAULT / "macros.conf")
    assert 'sourcetype="aws:cloudtrail"' in macros["cloudtrail_firehose_events"]["definition"]


def test_conf_reader_follows_splunk_rules():
    from splunk_conf import parse_conf

    conf = parse_conf("top = 1\n# comment\n[a]\nk = v1 \\\n  more\nx = y = z\n[a]\nk2 = 2\n")
    assert conf["default"] == {"top": "1"}
    assert conf["a"] == {"k": "v1 \n  more", "x": "y = z", "k2": "2"}


# --- search head cluster replication of what the app writes at run time ------------------------------

# conf_replication_include.<name> = true in $SPLUNK_HOME/etc/system/default/server.conf [shclustering]
# (Splunk Enterprise 8.2.12's copy; server.conf.spec: "Default: false" for any other type of file).
REPLICATED_BY_DEFAULT = {
    "alert_actions", "authentication", "authorize", "collections", "commands", "datamodels", "event_renderers",
    "eventtypes", "fields", "global-banner", "health", "html", "limits", "literals", "lookups", "macros", "manager",
    "models", "multikv", "nav", "panels", "passwd", "passwords", "props", "savedsearches", "searchbnf",
    "searchscripts", "segmenters", "tags", "telemetry", "tos", "times", "transforms", "transactiontypes", "ui-prefs",
    "ui-tour", "user-prefs", "views", "viewstates", "workflow_actions", "workload_pools", "workload_rules",
    "workload_policy", "metric_rollups", "metric_alerts", "web-features",
}  # fmt: skip
# Written at run time but deliberately not replicated: conf_replication_include is per type of file for the
# whole instance, so turning these on would replicate every app's runtime changes to them.
NOT_REPLICATED_ON_PURPOSE = {
    "inputs": "the recovery and health inputs (and a local HEC token) stay on the member where Deploy ran",
    "app": "the configured flag (services/apps/local) stays on the member where setup ran",
}
# The splunkd REST endpoints the package writes through, and the .conf file each one writes.
REST_WRITES = (
    (re.compile(r"configs/conf-([\w{}-]+)"), None),  # the group names the file
    (re.compile(r"properties/([\w{}-]+)"), None),
    (re.compile(r"storage/passwords"), "passwords"),
    (re.compile(r"data/inputs"), "inputs"),
    (re.compile(r"apps/local"), "app"),
)


def confs_written_at_run_time() -> set[str]:
    """Every .conf file the shipped code names a REST write endpoint for (mentions count too: stricter)."""
    app_id = read_conf(DEFAULT / "app.conf")["package"]["id"]
    names = set()
    for path in (ROOT / "package" / "cloudtrail_firehose").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for pattern, conf in REST_WRITES:
            for match in pattern.finditer(source):
                names.add(conf or match.group(1).replace("{APP}", app_id))
    return names


def test_every_conf_the_app_writes_at_run_time_replicates_across_a_search_head_cluster():
    written = confs_written_at_run_time()
    assert {"cloudtrail_firehose", "macros", "passwords", "inputs", "app"} <= written  # the scan finds them
    shclustering = read_conf(DEFAULT / "server.conf")["shclustering"]
    included = {k.removeprefix("conf_replication_include."): v for k, v in shclustering.items()}
    for conf in sorted(written):
        if conf in NOT_REPLICATED_ON_PURPOSE:
            assert conf not in included, f"{conf}: {NOT_REPLICATED_ON_PURPOSE[conf]}, on purpose"
        elif conf not in REPLICATED_BY_DEFAULT:
            assert included.get(conf) == "true", f"default/server.conf lacks conf_replication_include.{conf} = true"


def test_server_conf_holds_only_what_appinspect_allows_in_an_app():
    """check_server_conf_only_contains_custom_conf_sync_stanzas_or_diag_stanza: [shclustering] with
    conf_replication_include.* only (or [diag] EXCLUDE-*); any other stanza fails Splunk Cloud vetting."""
    conf = read_conf(DEFAULT / "server.conf")
    assert set(conf) - {"default"} == {"shclustering"}
    assert conf["default"] == {}
    assert all(key.startswith("conf_replication_include.") for key in conf["shclustering"])
