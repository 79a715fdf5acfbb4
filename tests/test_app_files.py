"""The app's own Splunk files: identity, navigation, permissions, icons."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from splunk_conf import read_conf

ROOT = Path(__file__).resolve().parents[1]
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
