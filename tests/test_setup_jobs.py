"""Setup's jobs on a search head cluster: two SetupService instances ("members") share one fake
splunkd, whose KV store stands in for the replicated one. A job started on one member is polled on
the other, deploy and remove are exclusive across members, a member that stops answering does not
block the others, and without a KV store jobs still work on one member."""

from __future__ import annotations

import threading
import time

import pytest
from cloudtrail_firehose.setup import jobs
from cloudtrail_firehose.setup.handler import SetupService
from cloudtrail_firehose.setup.jobs import Jobs
from cloudtrail_firehose.splunk.splunkd import Splunkd
from fake_splunkd import ADMIN_TOKEN, FakeSplunkd

COLLECTION = "cloudtrail_firehose_jobs"


class Member(SetupService):
    """A member whose operations are gated steps instead of AWS calls: the job plumbing is under test."""

    def __init__(self, name: str, clock=time.time) -> None:
        super().__init__(jobs=Jobs(clock=clock, instance=name))
        self.release = threading.Event()
        self.lines = [f"{name} step {n}" for n in range(3)]

    def _gated(self, splunkd, payload):
        def work(progress) -> dict:
            for line in self.lines:
                progress(line)
            self.release.wait(10)
            return {"done": True}

        return work

    _check = _preview = _deploy = _remove = _drift = _gated


@pytest.fixture
def splunkd():
    fake = FakeSplunkd()
    yield fake
    fake.close()


def call(member, splunkd, method, path, payload=None, query=None):
    return member.handle(method, path, Splunkd(splunkd.url, ADMIN_TOKEN), payload or {}, query)


def poll(member, splunkd, job_id: str) -> tuple[str, list[str], dict]:
    """Poll as setup.js does (since=next) until the job ends; all lines seen, in order."""
    seen: list[str] = []
    since = 0
    for _ in range(400):
        status, view = call(member, splunkd, "GET", f"jobs/{job_id}", query={"since": str(since)})
        assert status == 200, view
        seen += view["progress"]
        since = view["next"]
        if view["state"] != "running":
            return view["state"], seen, view
        time.sleep(0.02)
    raise AssertionError("job did not finish")


def wait_for_lines(splunkd, job_id: str, lines: list[str]) -> None:
    """Until the job's thread has stored these progress lines (it runs on its own schedule)."""
    for _ in range(1000):
        if splunkd.kv[COLLECTION][job_id]["progress"] == lines:
            return
        time.sleep(0.01)
    raise AssertionError("the job's lines were not stored")


def test_a_job_started_on_one_member_is_polled_to_the_end_on_another(splunkd):
    a, b = Member("sh1"), Member("sh2")
    status, body = call(a, splunkd, "POST", "preview")
    assert status == 200
    job = body["job"]
    assert set(job) == {"id", "kind", "state", "progress", "next", "result", "error"}  # the view setup.js reads
    a.release.set()
    state, seen, view = poll(b, splunkd, job["id"])
    assert state == "succeeded"
    assert seen == a.lines
    assert view["result"] == {"done": True}
    assert view["kind"] == "preview"


def test_a_deploy_on_one_member_makes_deploy_and_remove_on_another_wait(splunkd):
    a, b = Member("sh1"), Member("sh2")
    first = call(a, splunkd, "POST", "deploy")
    try:
        assert first[0] == 200
        for operation in ("deploy", "remove"):
            status, body = call(b, splunkd, "POST", operation)
            assert status == 409, body
            assert f"a deploy is already running (job {first[1]['job']['id']})" in body["error"]
        assert call(b, splunkd, "POST", "check")[0] == 200  # only deploy and remove exclude each other
    finally:
        a.release.set()
        b.release.set()
    assert poll(b, splunkd, first[1]["job"]["id"])[0] == "succeeded"
    assert call(b, splunkd, "POST", "remove")[0] == 200


def test_of_two_deploys_stored_at_once_the_older_runs_and_the_other_fails(splunkd):
    """Both members found no running deploy and both inserted one: the read-back settles it."""
    b = Member("sh2")
    older = {"kind": "deploy", "state": "running", "progress": [], "progress_offset": 0, "result": "null",
             "error": "", "started": time.time() - 5, "updated": time.time(), "instance": "sh1"}  # fmt: skip
    real_running = b.jobs._running
    calls = []

    def running(client):  # the first look finds nothing: sh1's insert lands just after it
        calls.append(1)
        if len(calls) == 1:
            found = real_running(client)
            splunkd.kv[COLLECTION]["sh1-job"] = {**older, "_key": "sh1-job"}
            return found
        return real_running(client)

    b.jobs._running = running
    status, body = call(b, splunkd, "POST", "deploy")
    b.release.set()
    assert status == 409, body
    assert "a deploy is already running (job sh1-job)" in body["error"]
    mine = [d for k, d in splunkd.kv[COLLECTION].items() if k != "sh1-job"]
    assert [d["state"] for d in mine] == ["failed"]  # it stops blocking anyone


def test_a_member_that_stopped_answering_blocks_nothing(splunkd):
    now = [1_000_000.0]
    a, b = Member("sh1", clock=lambda: now[0]), Member("sh2", clock=lambda: now[0])
    stuck = call(a, splunkd, "POST", "deploy")[1]["job"]
    try:
        assert call(b, splunkd, "POST", "remove")[0] == 409
        wait_for_lines(splunkd, stuck["id"], a.lines)  # sh1 wrote its lines (each a heartbeat), then goes silent
        now[0] += jobs.STALE_AFTER + 60  # sh1's heartbeat is older than the limit
        status, view = call(b, splunkd, "GET", f"jobs/{stuck['id']}")
        assert view["state"] == "failed"
        assert "the search head running this job (sh1) stopped answering" in view["error"]
        assert "see its splunkd.log, then start again" in view["error"]
        assert call(b, splunkd, "POST", "remove")[0] == 200
    finally:
        a.release.set()
        b.release.set()


def test_a_running_job_keeps_its_heartbeat(splunkd, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT", 0.01)
    now = [1_000_000.0]
    a = Member("sh1", clock=lambda: now[0])
    job = call(a, splunkd, "POST", "deploy")[1]["job"]
    try:
        wait_for_lines(splunkd, job["id"], a.lines)  # from here on only the heartbeat writes
        now[0] += 100
        for _ in range(1000):
            if splunkd.kv[COLLECTION][job["id"]]["updated"] == now[0]:
                break
            time.sleep(0.01)
        assert splunkd.kv[COLLECTION][job["id"]]["updated"] == now[0]
    finally:
        a.release.set()


def test_the_stored_progress_is_bounded_and_polls_still_see_every_new_line(splunkd, monkeypatch):
    monkeypatch.setattr(jobs, "MAX_STORED_LINES", 5)
    a, b = Member("sh1"), Member("sh2")
    a.lines = [f"line {n}" for n in range(12)]
    job = call(a, splunkd, "POST", "check")[1]["job"]
    a.release.set()
    state, _, view = poll(b, splunkd, job["id"])
    assert state == "succeeded"
    assert view["next"] == 12
    assert len(splunkd.kv[COLLECTION][job["id"]]["progress"]) == 5
    assert call(b, splunkd, "GET", f"jobs/{job['id']}", query={"since": "10"})[1]["progress"] == ["line 10", "line 11"]


def test_without_a_kv_store_jobs_run_on_one_member(splunkd):
    splunkd.kv_available = False
    a, b = Member("hf1"), Member("hf2")
    status, body = call(a, splunkd, "POST", "deploy")
    assert status == 200
    job = body["job"]
    assert call(a, splunkd, "POST", "remove")[0] == 409  # still exclusive on this instance
    a.release.set()
    state, seen, _ = poll(a, splunkd, job["id"])
    assert state == "succeeded"
    assert seen[0].startswith("Job state is kept only on this instance")
    assert seen[1:] == a.lines
    assert call(b, splunkd, "GET", f"jobs/{job['id']}")[0] == 404


def test_an_unknown_job_is_404_on_every_member(splunkd):
    status, body = call(Member("sh1"), splunkd, "GET", "jobs/no-such-job")
    assert status == 404
    assert body["what_to_do"] == "start the operation again"
