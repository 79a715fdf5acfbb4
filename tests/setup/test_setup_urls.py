"""Every URL the setup page requests gets through Splunk Web and reaches the handler.

Splunk Web proxies /splunkd/__raw/services/<path> only when an [expose:...] stanza of web.conf
matches <path> and lists the method; web.conf.spec: in a pattern, `*` matches one path segment and
`**` any number of them. splunkd then hands the request to the restmap.conf handler whose match
is the path or a prefix of it (restmap.conf.spec: the handler implements the namespace under its
endpoint). The URLs are read from setup.js (what its request function is called with) and from
the handler's own list of endpoints.

Splunk Web itself listens under web.conf `root_endpoint` (web.conf.spec: "Defines the root URI path
on which the appserver will listen", default /) and a locale, so setup.js names only the part from
/splunkd on and takes what comes before from the page (tests/setup/test_setup_page.py runs it under one).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from splunk_conf import read_conf

ROOT = Path(__file__).resolve().parents[2]
SETUP_JS = (ROOT / "appserver" / "static" / "setup.js").read_text(encoding="utf-8")
HANDLER = (ROOT / "package" / "cloudtrail_firehose" / "setup" / "handler.py").read_text(encoding="utf-8")
PROXY_PREFIX = "/splunkd/__raw/services/"
SAMPLE_SEGMENT = "c0ffee42"  # what a non-literal part of a path (a job id, a variable) stands for
PLACEHOLDER = re.compile(r"<\w+>")  # <id> in the handler's list


def pattern_matches(pattern: str, path: str) -> bool:
    def match(parts: list[str], segments: list[str]) -> bool:
        if not parts:
            return not segments
        if parts[0] == "**":
            return any(match(parts[1:], segments[i:]) for i in range(len(segments) + 1))
        if not segments:
            return False
        head = re.escape(parts[0]).replace(r"\*", "[^/]*")
        return re.fullmatch(head, segments[0]) is not None and match(parts[1:], segments[1:])

    return match(pattern.strip("/").split("/"), path.strip("/").split("/"))


def exposed(method: str, path: str) -> bool:
    for name, stanza in read_conf(ROOT / "default" / "web.conf").items():
        methods = {m.strip().upper() for m in stanza.get("methods", "GET").split(",")}
        if name.startswith("expose:") and method in methods and pattern_matches(stanza["pattern"], path):
            return True
    return False


def handled(path: str) -> bool:
    for name, stanza in read_conf(ROOT / "default" / "restmap.conf").items():
        prefix = stanza.get("match", "").strip("/")
        if name.startswith("script:") and prefix and (path == prefix or path.startswith(prefix + "/")):
            return True
    return False


def base_path() -> str:
    """The endpoint setup.js builds its URLs on (after Splunk Web's splunkd proxy prefix)."""
    found = re.findall(r"""(["'][^"']*)""" + re.escape(PROXY_PREFIX) + r"([\w/]+)", SETUP_JS)
    assert len({path for _, path in found}) == 1, f"setup.js should build its URLs on one endpoint: {found}"
    # The literal starts at /splunkd: root_endpoint and locale are the page's, never written in.
    assert [before for before, _ in found] == ['"'], f"a fixed prefix before {PROXY_PREFIX}: {found}"
    return found[0][1].strip("/")


def path_of(expression: str) -> str:
    """A JavaScript path expression ("jobs/" + job.id + "?since=" + n) as one concrete path."""
    parts = re.split(r"\s*\+\s*", expression.strip())
    text = "".join(p[1:-1] if re.fullmatch(r"""(["']).*\1""", p) else SAMPLE_SEGMENT for p in parts)
    return text.split("?")[0].strip("/")


def setup_js_requests() -> list[tuple[str, str]]:
    calls = re.findall(r"""\bcall\(\s*["'](GET|POST|DELETE|PUT)["']\s*,\s*([^,)]+)""", SETUP_JS)
    return sorted({(method, f"{base_path()}/{path_of(expression)}") for method, expression in calls})


def handler_endpoints() -> list[tuple[str, str]]:
    documented = re.findall(r"^\s+(GET|POST|DELETE|PUT)\s+(\S+)", HANDLER.split('"""')[1], re.M)
    return sorted({(method, f"{base_path()}/{PLACEHOLDER.sub(SAMPLE_SEGMENT, path)}") for method, path in documented})


def test_the_requests_are_read_from_setup_js():
    requests = setup_js_requests()
    assert ("GET", f"{base_path()}/jobs/{SAMPLE_SEGMENT}") in requests
    assert ("POST", f"{base_path()}/config") in requests
    assert len(requests) >= 5


@pytest.mark.parametrize(("method", "path"), sorted(set(setup_js_requests()) | set(handler_endpoints())))
def test_every_setup_request_is_exposed_and_handled(method, path):
    assert exposed(method, path), f"web.conf exposes no pattern for {method} {path}"
    assert handled(path), f"restmap.conf has no handler for {path}"


def test_the_setup_view_names_its_static_files_relative_to_the_app():
    """script= and stylesheet= are file names in appserver/static; Splunk Web renders them under
    <root_endpoint>/<locale>/static/app/cloudtrail_firehose/, so a path written in would break."""
    view = ET.parse(ROOT / "default" / "data" / "ui" / "views" / "setup.xml").getroot()
    names = [name.strip() for key in ("script", "stylesheet") for name in view.get(key, "").split(",") if name.strip()]
    assert names == ["setup.js", "setup.css"]
    for name in names:
        assert "/" not in name, name
        assert (ROOT / "appserver" / "static" / name).is_file(), name


def test_patterns_follow_the_spec():
    assert pattern_matches("a/setup/*", "a/setup/jobs")
    assert not pattern_matches("a/setup/*", "a/setup/jobs/42")
    assert pattern_matches("a/setup/**", "a/setup/jobs/42")
    assert pattern_matches("a/setup", "a/setup")
    assert not pattern_matches("a/setup", "a/setup/config")


def test_the_handler_requires_the_app_capability_before_it_runs():
    (stanza,) = [s for n, s in read_conf(ROOT / "default" / "restmap.conf").items() if n.startswith("script:")]
    assert stanza.get("capability") == "cloudtrail_firehose_admin"
    assert "capability::cloudtrail_firehose_admin" in read_conf(ROOT / "default" / "authorize.conf")
