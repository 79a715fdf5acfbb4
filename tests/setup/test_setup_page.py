"""The setup page in a real headless Chromium (Debian's chromium, driven by Playwright).

A local server plays Splunk Web: it serves the page and the app's static files, checks the CSRF
form key like Splunk Web's proxy, and answers the app's endpoints with the real SetupService
(backed by moto and a fake splunkd). A screenshot of the deployed state is saved in build/.

Splunk Web serves everything under web.conf `root_endpoint` (web.conf.spec: "Defines the root URI
path on which the appserver will listen", e.g. /splunkui behind a reverse proxy; default /) and
then a locale, so the harness can do the same (Site) and answers 404 outside its root.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
import warnings
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import moto_shims  # noqa: F401
import pytest
from cloudtrail_firehose import settings as schema
from cloudtrail_firehose.setup.handler import SetupService
from cloudtrail_firehose.splunk.splunkd import Splunkd
from fake_http import serve
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "appserver" / "static"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FORM_KEY = "1234567890abcdef"


@dataclass(frozen=True)
class Site:
    """Where Splunk Web serves: web.conf root_endpoint ("" for the default /) and the locale."""

    root: str = ""
    locale: str = "en-US"
    splunk_util: bool = False  # the page carries Splunk Web's URL helper, as its real pages do

    @property
    def prefix(self) -> str:
        return f"{self.root}/{self.locale}"

    @property
    def page(self) -> str:
        return f"{self.prefix}/app/cloudtrail_firehose/setup"

    @property
    def static(self) -> str:  # where Splunk Web serves setup.xml's script= and stylesheet= (app-relative names)
        return f"{self.prefix}/static/app/cloudtrail_firehose/"

    @property
    def proxy(self) -> str:
        return f"{self.prefix}/splunkd/__raw/services/cloudtrail_firehose/setup/"


DEFAULT_SITE = Site()
BEHIND_PROXY = Site(root="/splunk", locale="ja-JP")  # root_endpoint = /splunk, a Japanese user
PAGE = """<!doctype html><html><head><title>Setup | CloudTrail via Firehose</title>
<link rel="stylesheet" href="{static}setup.css"></head>
<body><h2>CloudTrail via Firehose: Setup</h2><div id="ctf-setup"></div>{globals}
<script src="{static}setup.js"></script></body></html>"""
# Splunk Web's page globals: $C holds MRSPARKLE_ROOT_PATH (root_endpoint) and LOCALE, and
# Splunk.util.make_url puts both before an absolute path. This stand-in also records its calls.
SPLUNK_UTIL = """<script>
window.$C = {{MRSPARKLE_ROOT_PATH: "{root}", LOCALE: "{locale}"}};
window.madeUrls = [];
window.Splunk = {{util: {{make_url: function (path) {{
  var url = ($C.MRSPARKLE_ROOT_PATH === "/" ? "" : $C.MRSPARKLE_ROOT_PATH) + "/" + $C.LOCALE + path;
  window.madeUrls.push(url);
  return url;
}}}}}};
</script>"""


class SplunkWeb:
    def __init__(self, service: SetupService, splunkd: FakeSplunkd, site: Site = DEFAULT_SITE) -> None:
        self.service, self.splunkd, self.site = service, splunkd, site
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.external_requests: list[str] = []  # anything Splunk Web would not serve (404)
        self.proxied: list[str] = []  # method and path of each request that reached the handler
        serve(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.site.page}"

    def _handler(self):
        web = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def _send(self, status: int, body: bytes, content_type: str, cookie: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if cookie:
                    self.send_header("Set-Cookie", cookie)
                self.end_headers()
                self.wfile.write(body)

            def _serve(self, method: str) -> None:
                parts, site = urllib.parse.urlsplit(self.path), web.site
                if parts.path == site.page:
                    port = web.server.server_address[1]
                    cookie = f"splunkweb_csrf_token_{port}={FORM_KEY}; Path={site.root or '/'}"
                    extra = SPLUNK_UTIL.format(root=site.root or "/", locale=site.locale) if site.splunk_util else ""
                    return self._send(200, PAGE.format(static=site.static, globals=extra).encode(), "text/html", cookie)
                if parts.path.startswith(site.static):
                    file = STATIC / parts.path.rsplit("/", 1)[1]
                    kind = "text/css" if file.suffix == ".css" else "application/javascript"
                    return self._send(200, file.read_bytes(), kind)
                if parts.path.startswith(site.proxy):
                    endpoint = parts.path.removeprefix(site.proxy)
                    web.proxied.append(f"{method} {endpoint}")
                    if method == "POST" and self.headers.get("X-Splunk-Form-Key") != FORM_KEY:
                        return self._send(401, b'{"error": "missing CSRF form key"}', "application/json")
                    length = int(self.headers.get("Content-Length") or 0)
                    payload = self.rfile.read(length).decode()  # raw, as Splunk hands it to the handler
                    query = dict(urllib.parse.parse_qsl(parts.query))
                    splunkd = Splunkd(web.splunkd.url, ADMIN_TOKEN)
                    status, body = web.service.handle(method, endpoint, splunkd, payload, query)
                    return self._send(status, json.dumps(body).encode(), "application/json")
                if parts.path != "/favicon.ico":  # the browser asks for it on its own
                    web.external_requests.append(self.path)
                return self._send(404, b"", "text/plain")

        return Handler


@pytest.fixture
def browser_page(request, tmp_path, monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("SPLUNK_HOME", str(tmp_path / "splunk"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    trusted = type("Check", (), {"ok": True, "detail": "presents a trusted certificate"})()
    monkeypatch.setattr("cloudtrail_firehose.aws.preflight.check_hec_certificate", lambda url: trusted)
    warnings.filterwarnings("ignore", message="Tried to parse")
    splunkd = FakeSplunkd()
    with mock_aws():
        web = SplunkWeb(SetupService(), splunkd, getattr(request, "param", DEFAULT_SITE))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(web.url)
            page.wait_for_selector("#ctf-form, #ctf-setup .message.error")  # the form, or why it is not there
            if not page.locator("#ctf-form").count():
                pytest.fail(f"no setup form: {page.inner_text('#ctf-setup')!r}; not served: {web.external_requests}")
            yield page, web, splunkd
            browser.close()
        web.server.shutdown()
    splunkd.close()


def fill(page, **values: str) -> None:
    for name, value in values.items():
        selector = f"#ctf-{name}"
        if page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)


GOOD = {
    "index": "aws_cloudtrail", "hec_url": "https://http-inputs-firehose-acme.splunkcloud.com",
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "region": "us-east-1",
}  # fmt: skip


def test_walk_through_check_preview_deploy(browser_page):
    """Both sources from one page: CloudTrail and the VPC flow logs of one VPC, each to its own stream and token."""
    page, web, splunkd = browser_page
    splunkd.indexes.add("aws_vpcflow")
    vpc = boto3.client("ec2", region_name="us-east-1").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    assert not page.is_visible("#ctf-vpc_ids")  # the VPC options show once the source is on
    fill(page, **GOOD, collect_vpc_flow_logs="true", vpc_ids=vpc, vpc_flow_traffic_type="REJECT")
    page.click("#ctf-check")
    page.wait_for_selector("#ctf-message.ok", timeout=60_000)
    assert "All checks passed" in page.inner_text("#ctf-message")
    assert page.locator("#ctf-checks li.ok").count() >= 3
    assert splunkd.passwords  # saved on the way
    assert page.input_value("#ctf-aws_secret_access_key") == ""  # the secret never stays in the page

    page.click("#ctf-preview")
    page.wait_for_function("document.querySelector('#ctf-message').textContent.includes('change(s)')", timeout=60_000)
    plan = page.inner_text("#ctf-message")
    assert "+ create  AWS::KinesisFirehose::DeliveryStream" in plan
    assert "+ create  AWS::EC2::FlowLog" in plan

    page.click("#ctf-deploy")
    page.wait_for_function("document.querySelector('#ctf-message').textContent.startsWith('Deployed')", timeout=120_000)
    log = page.inner_text("#ctf-log")
    assert "HEC input cloudtrail_firehose ready" in log
    assert "HEC input cloudtrail_firehose_vpcflow ready" in log
    assert "CREATE_COMPLETE" in log
    assert "Dashboards now read CloudTrail from index aws_cloudtrail, VPC Flow Logs from index aws_vpcflow" in log
    message = page.inner_text("#ctf-message")
    assert ("Firehose delivers CloudTrail through cloudtrail-firehose, VPC Flow Logs through "
            "cloudtrail-firehose-vpcflow to Splunk") in message, message
    (flow_log,) = boto3.client("ec2", region_name="us-east-1").describe_flow_logs()["FlowLogs"]
    assert (flow_log["ResourceId"], flow_log["TrafficType"]) == (vpc, "REJECT")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "setup_deployed.png"), full_page=True)

    page.click("#ctf-status")
    page.wait_for_function("document.querySelector('#ctf-message').textContent.includes('ACTIVE')", timeout=30_000)
    assert '"drift": "NOT_CHECKED"' in page.inner_text("#ctf-message")  # Status (a GET) starts no detection
    page.click("#ctf-drift")
    page.wait_for_function("document.querySelector('#ctf-log').textContent.includes('Drift: ')", timeout=60_000)
    assert "Detecting drift" in page.inner_text("#ctf-log")

    with page.expect_download() as download:
        page.click("#ctf-template")
    assert "AWS::KinesisFirehose::DeliveryStream" in Path(download.value.path()).read_text()

    page.click("#ctf-remove")  # the confirmation dialog is accepted
    page.wait_for_function("document.querySelector('#ctf-message').textContent.startsWith('Removed')", timeout=60_000)
    assert "Kept buckets: cloudtrail-firehose-failed-" in page.inner_text("#ctf-message")
    assert web.external_requests == []  # nothing outside the app: no CDN, no external network


@pytest.mark.parametrize("browser_page", [BEHIND_PROXY, replace(BEHIND_PROXY, splunk_util=True)],
                         ids=["from-the-page-path", "with-splunk-util"], indirect=True)  # fmt: skip
def test_every_request_stays_under_the_root_endpoint_and_locale(browser_page):
    """Splunk Web behind a reverse proxy: web.conf `root_endpoint = /splunk`.

    web.conf.spec: root_endpoint "Defines the root URI path on which the appserver will listen"
    (e.g. /splunkui to proxy the UI at http://splunk:8000/splunkui); Splunk Web then serves
    <root_endpoint>/<locale>/app/..., <root_endpoint>/<locale>/splunkd/__raw/... and nothing
    outside it. The page must load its form, save and run a job (Check, polled) through the proxy
    under that root and the user's locale, with Splunk Web's URL helper or from its own path.
    """
    page, web, splunkd = browser_page
    fill(page, **GOOD)
    page.click("#ctf-check")  # saves, starts the check job and polls it
    page.wait_for_selector("#ctf-message.ok", timeout=60_000)
    assert "All checks passed" in page.inner_text("#ctf-message")
    assert splunkd.passwords
    assert web.external_requests == []  # no request outside /splunk/ja-JP (each would be a 404)
    endpoints = {re.sub(r"^GET jobs/.+", "GET jobs/<id>", call) for call in web.proxied}
    assert {"GET schema", "GET config", "POST config", "POST check", "GET jobs/<id>"} <= endpoints
    if web.site.splunk_util:
        made = page.evaluate("window.madeUrls")  # Splunk Web's helper made the URLs
        assert made
        assert all(url.startswith(web.site.proxy.rstrip("/")) for url in made), made


def test_the_form_is_rendered_from_the_schema(browser_page):
    page, _, _ = browser_page
    for setting in schema.SETTINGS:
        selector = f"#ctf-{setting.name}"
        if not setting.shown:
            assert page.locator(selector).count() == 0, setting.name
            continue
        assert page.inner_text(f'label[for="ctf-{setting.name}"]') == setting.label
        assert page.input_value(selector) == ("" if setting.secret else schema.text(setting.default)), setting.name
    # Every pattern the server matches compiles, and judges alike, in the browser.
    refusals = [r for s in schema.SETTINGS for r, _ in schema.COMMON_REFUSALS + s.refuse]
    patterns = [s.pattern for s in schema.SETTINGS if s.pattern] + refusals
    samples = ["main", "_internal", "https://hec.example.com", "a\nb", "x\\", "AKIAIOSFODNN7EXAMPLE", "us-east-1"]
    judged = page.evaluate("([patterns, samples]) => patterns.map(p => samples.map(v => new RegExp(p).test(v)))",
                           [patterns, samples])  # fmt: skip
    assert judged == [[re.search(p, v) is not None for v in samples] for p in patterns]


def test_setup_js_holds_no_list_of_settings():
    script = (STATIC / "setup.js").read_text()
    for setting in schema.SETTINGS:
        assert f'"{setting.name}"' not in script, setting.name
        assert setting.label not in script, setting.label


def test_a_bad_url_is_flagged_in_the_form_and_nothing_is_saved(browser_page):
    page, _, splunkd = browser_page
    fill(page, **(GOOD | {"hec_url": "http://10.0.0.5:8088"}))
    assert "This must start with https://" in page.inner_text("#ctf-error-hec_url")
    page.click("#ctf-deploy")
    page.wait_for_selector("#ctf-message.error")
    assert "Some fields need attention" in page.inner_text("#ctf-message")
    assert splunkd.conf == {}
    fill(page, hec_url="https://203.0.113.7")
    assert "This uses an IP address" in page.inner_text("#ctf-error-hec_url")
    fill(page, index="_internal")
    assert "This is not an index name" in page.inner_text("#ctf-error-index")
    assert not page.is_visible("#ctf-custom_filter_pattern")  # shown only for the custom preset
    page.select_option("#ctf-filter_preset", "custom")
    page.click("#ctf-save")
    assert "Give a CloudWatch Logs filter pattern" in page.inner_text("#ctf-error-custom_filter_pattern")


def test_a_name_prefix_aws_refuses_is_flagged_in_the_form_and_nothing_is_saved(browser_page):
    """AWS CloudTrail User Guide, "Trail naming requirements"; Amazon S3 User Guide, "General purpose bucket
    naming rules" (tests/test_settings.py holds each rule's examples)."""
    page, _, splunkd = browser_page
    fill(page, **GOOD)
    for prefix, message in [("abc-", "This must end with a letter or digit"),
                            ("ab--cd", "This must not hold two hyphens in a row"),
                            ("xn--abc", "This must not start with xn--, sthree- or amzn-s3-demo-"),
                            ("sthree-abc", "This must not start with xn--, sthree- or amzn-s3-demo-")]:  # fmt: skip
        fill(page, name_prefix=prefix)
        assert message in page.inner_text("#ctf-error-name_prefix"), prefix
    assert page.get_attribute("#ctf-name_prefix", "maxlength") == "27"
    page.click("#ctf-save")
    page.wait_for_selector("#ctf-message.error")
    assert "Some fields need attention" in page.inner_text("#ctf-message")
    assert splunkd.conf == {}
    fill(page, name_prefix="a1-b2-c3")
    assert page.inner_text("#ctf-error-name_prefix") == ""


def test_a_failed_deploy_shows_its_message(browser_page):
    page, _, _ = browser_page
    fill(page, **(GOOD | {"index": "no_such_index"}))
    page.click("#ctf-deploy")
    page.wait_for_selector("#ctf-message.error", timeout=60_000)
    message = page.inner_text("#ctf-message")
    assert "deploy failed" in message
    assert "index no_such_index does not exist on sh1, a standalone instance (no search peers)" in message
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "setup_failed_deploy.png"), full_page=True)


def test_the_delivery_choice_shows_only_its_fields(browser_page):
    page, _, splunkd = browser_page
    fields = ("hec_url", "hec_token", "splunk_cloud_stack", "acs_token")

    def visible() -> list[str]:
        return [name for name in fields if page.is_visible(f"#ctf-{name}")]

    assert visible() == ["hec_url"]  # this Splunk instance
    page.select_option("#ctf-delivery", "existing")
    assert visible() == ["hec_url", "hec_token"]
    page.select_option("#ctf-delivery", "cloud")
    assert visible() == ["splunk_cloud_stack", "acs_token"]
    fill(page, **{k: v for k, v in GOOD.items() if k != "hec_url"}, splunk_cloud_stack="acme",
         acs_token="eyJhbGciOiJIUzUxMiJ9.test.signature")  # fmt: skip
    page.click("#ctf-save")
    page.wait_for_selector("#ctf-message.ok")
    assert splunkd.conf["pipeline"]["hec_url"] == "https://http-inputs-firehose-acme.splunkcloud.com"
    assert splunkd.passwords["cloudtrail_firehose:acs_token:"] == "eyJhbGciOiJIUzUxMiJ9.test.signature"
    assert page.input_value("#ctf-acs_token") == ""
    assert page.get_attribute("#ctf-acs_token", "placeholder") == "stored (leave empty to keep)"


def test_vpc_flow_logs_alone_ask_only_for_their_own_token_and_index(browser_page):
    """CloudTrail off, delivery to an existing HEC tier: the page asks for the VPC flow logs' token and index,
    not CloudTrail's, and saves without them."""
    page, _, splunkd = browser_page
    page.select_option("#ctf-delivery", "existing")
    fill(page, **GOOD, collect_cloudtrail="false", collect_vpc_flow_logs="true")
    assert not page.is_visible("#ctf-hec_token")
    assert not page.is_visible("#ctf-index")
    assert page.is_visible("#ctf-vpcflow_hec_token")
    assert page.is_visible("#ctf-vpcflow_index")
    page.click("#ctf-save")
    page.wait_for_selector("#ctf-message.error")
    assert "Some fields need attention" in page.inner_text("#ctf-message")
    assert "Paste the value of the HEC token for the VPC flow logs" in page.inner_text("#ctf-error-vpcflow_hec_token")
    fill(page, vpcflow_hec_token="6d5c1a7e-0b7e-4a57-9a8b-3c2f1e0d9c8b")
    page.click("#ctf-save")
    page.wait_for_selector("#ctf-message.ok")
    assert splunkd.passwords["cloudtrail_firehose:vpcflow_hec_token:"] == "6d5c1a7e-0b7e-4a57-9a8b-3c2f1e0d9c8b"
    assert "cloudtrail_firehose:hec_token:" not in splunkd.passwords
    assert splunkd.conf["pipeline"]["collect_cloudtrail"] == "false"
