from __future__ import annotations

import os
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

ROOT = Path(__file__).resolve().parents[1]

# Property tests: derandomized, so each run tries the same cases (a failure repeats, the time is steady), and a
# few hundred cases each. The long runs: HYPOTHESIS_PROFILE=long (6,000 cases each), and bench/lambda_fuzz.py
# (100,000 hostile invocations of the Lambda processor).
hypothesis_settings.register_profile("suite", derandomize=True, database=None, deadline=None, max_examples=200)
hypothesis_settings.register_profile("long", derandomize=True, database=None, deadline=None, max_examples=6000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

# Tests of what Splunk does not run as Python (configuration, dashboards, docs, the template and its policies,
# the build, the page in Chromium, the stand-ins, and the Lambda processor, which runs on Lambda's python3.13)
# need only the tools' Python, 3.13. Every other test exercises code Splunk runs and runs on Python 3.9 as well
# (build.py test), as Splunk 9.4 and 10.0 run the app's scripts on 3.9: a new test module runs on both unless
# it is named here.
TOOLS_ONLY = [
    "test_alerts.py", "test_app_files.py", "test_aws_iam.py", "test_aws_template.py", "test_build.py",
    "test_cloudtrail_index_time.py", "test_cloudtrail_search_time.py", "test_dashboards.py", "test_deploy_policy.py",
    "test_deploying_doc.py", "test_fake_acs.py", "test_fake_hec.py", "test_fake_splunkd_kv.py",
    "test_lambda_processor.py", "test_layering.py", "test_setup_page.py", "test_setup_urls.py",
    "test_splunk_search_model.py", "test_vpcflow_index_time.py", "test_vpcflow_search_time.py",
]  # fmt: skip


# A test that uses one of these starts something heavy, so it is marked slow (left out of build.py test --quick)
# wherever it sits; other slow tests carry @pytest.mark.slow.
SLOW_FIXTURES = {
    "endpoint": "a moto_server process", "built_app": "the app built as build.py builds it",
    "hec_tier": "the HEC-tier package built", "browser_page": "Chromium",
}  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.keys() & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """On Python 3.9, the modules in TOOLS_ONLY, wherever they sit under tests/."""
    return True if sys.version_info < (3, 13) and collection_path.name in TOOLS_ONLY else None


def _fold_corpus_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """All skips for the missing corpus under one location, so -ra says it on one line for the run."""
    import corpus

    if report.skipped and isinstance(report.longrepr, tuple) and corpus.MISSING in str(report.longrepr[2]):
        report.longrepr = ("tests/helpers/corpus.py", None, f"Skipped: {corpus.MISSING}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Without the corpus, a test that failed for want of one of its files (read, or handed to a tool) is skipped.

    Tests that use its events skip themselves: corpus.corpus_dir() skips when it is absent.
    """
    import corpus

    report = yield
    error = call.excinfo.value if call.excinfo else None
    if error is not None and not corpus.CORPUS.is_dir() and isinstance(error, (OSError, subprocess.SubprocessError)):
        if str(corpus.CORPUS) in f"{error} {getattr(error, 'cmd', '')}":
            skipped = ("tests/helpers/corpus.py", None, f"Skipped: {corpus.MISSING}")
            report.outcome, report.longrepr = "skipped", skipped
    _fold_corpus_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = yield
    _fold_corpus_skip(report)
    return report


@dataclass(frozen=True)
class BuiltApp:
    app_dir: Path  # the assembled app folder (build/.../cloudtrail_firehose)
    spl: Path  # the packaged .spl

    def names(self) -> list[str]:
        with tarfile.open(self.spl) as archive:
            return archive.getnames()


@pytest.fixture(scope="session")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> BuiltApp:
    """The app as build.py assembles and packages it (AppInspect is build.py's own job)."""
    from buildlib import packaging

    out = tmp_path_factory.mktemp("build")
    app_dir = packaging.assemble(Path(sys.executable), out=out)
    spl = packaging.package(app_dir, dist=out / "dist")
    return BuiltApp(app_dir, spl)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def endpoint():
    """moto_server (with the CloudFormation shims) on 127.0.0.1, as AWS_ENDPOINT_URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "standins" / "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("moto_server did not start")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def recovery_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """The recovery input's log lines: its logger does not propagate (Splunk runs it in its own process)."""
    from cloudtrail_firehose.log import get_logger

    logger = get_logger("recovery")
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, caplog.handler])
    return caplog
