"""Setup's jobs on a search head cluster: SetupService instances ("members") share one fake KV store,
each through its own fake splunkd whose reads may lag behind the captain's copy, each with its own
wall clock. A job started on one member is polled on another, deploy and remove are exclusive across
members, a member that stops heartbeating does not block the others (as the others' own clocks
measure it), and without a KV store jobs still work on a standalone instance, never on a cluster."""

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
LOCKS = "cloudtrail_firehose_locks"


class Running:
    """How many members' operations run at once, and the most there ever were."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.lock = threading.Lock()

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.now -= 1


class Member(SetupService):
    """A member whose operations are gated steps instead of AWS calls: the job plumbing is under test."""

    def __init__(self, name: str, clock=time.time, monotonic=time.monotonic, running: Running | None = None) -> None:
        super().__init__(jobs=Jobs(clock=clock, instance=name, monotonic=monotonic))
        self.release = threading.Event()
        self.lines = [f"{name} step {n}" for n in range(3)]
        self.running = running or Running()
        self.fail = False

    def _gated(self, splunkd, payload):
        def work(progress) -> dict:
            with self.running:
                for line in self.lines:
                    progress(line)
                self.release.wait(10)
            if self.fail:
                raise RuntimeError("the stack could not be created")
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
        assert splunkd.kv[COLLECTION][job["id"]]["beat"] > len(a.lines)  # what other members watch
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


def wait_until(condition, what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(what)


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.slow
def test_members_starting_a_deploy_at_once_never_run_two(splunkd, count):
    """Each member reads a copy up to 3 writes / 50 ms behind the captain; writes go to the captain."""
    running = Running()
    members = [(Member(f"sh{n}", running=running), splunkd.member(f"sh{n}", lag_writes=3, lag_seconds=0.05))
               for n in range(count)]  # fmt: skip
    for _ in range(50):
        barrier = threading.Barrier(count)
        answers: list[tuple[Member, int, dict]] = []

        def start(member: Member, fake: FakeSplunkd, barrier=barrier, answers=answers) -> None:
            barrier.wait()
            answers.append((member, *call(member, fake, "POST", "deploy")))

        threads = [threading.Thread(target=start, args=pair) for pair in members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        started = [(member, body["job"]["id"]) for member, status, body in answers if status == 200]
        assert sorted(status for _, status, _ in answers) == [200] + [409] * (count - 1), answers
        refusals = [body["error"] for _, status, body in answers if status == 409]
        assert all("is already running" in error or "a moment ago" in error for error in refusals)
        [(winner, job_id)] = started
        winner.release.set()
        wait_until(lambda: winner.jobs._jobs[job_id].state != "running", "the deploy did not finish")  # noqa: B023
        winner.release.clear()
        time.sleep(0.06)  # every member's copy has caught up
    assert running.most == 1
    assert [d["state"] for d in splunkd.kv[LOCKS].values()] == ["released"] * 50


@pytest.mark.parametrize("ahead", [301, 1100])
def test_a_member_whose_clock_is_ahead_does_not_judge_a_live_job_stale(splunkd, monkeypatch, ahead):
    monkeypatch.setattr(jobs, "HEARTBEAT", 0.02)
    mono = [0.0]
    a = Member("sh1")
    b = Member("sh2", clock=lambda: time.time() + ahead, monotonic=lambda: mono[0])
    other = splunkd.member("sh2")
    job = call(a, splunkd, "POST", "deploy")[1]["job"]
    try:
        for _ in range(3):  # 600 s of b's clock in all, but never 300 s without a new heartbeat
            status, body = call(b, other, "POST", "deploy")
            assert status == 409, body
            assert f"a deploy is already running (job {job['id']})" in body["error"]
            assert call(b, other, "GET", f"jobs/{job['id']}")[1]["state"] == "running"
            beat = splunkd.kv[COLLECTION][job["id"]]["beat"]
            wait_until(lambda: splunkd.kv[COLLECTION][job["id"]]["beat"] > beat, "no heartbeat")  # noqa: B023
            mono[0] += 200
    finally:
        a.release.set()
    assert poll(b, other, job["id"])[0] == "succeeded"


def test_a_holder_that_stopped_heartbeating_is_taken_over_after_the_stale_period_the_other_measures(splunkd):
    mono = [0.0]
    a = Member("sh1")
    b = Member("sh2", clock=lambda: time.time() - 1000, monotonic=lambda: mono[0])  # its wall clock is behind
    other = splunkd.member("sh2")
    stuck = call(a, splunkd, "POST", "deploy")[1]["job"]
    try:
        wait_for_lines(splunkd, stuck["id"], a.lines)  # sh1 wrote its lines, then no heartbeat for 30 s
        assert call(b, other, "POST", "remove")[0] == 409  # b starts watching sh1's heartbeat counter
        mono[0] += jobs.STALE_AFTER - 10
        assert call(b, other, "POST", "remove")[0] == 409
        assert call(b, other, "GET", f"jobs/{stuck['id']}")[1]["state"] == "running"
        mono[0] += 20  # b has seen the same heartbeat for more than STALE_AFTER of its own clock
        view = call(b, other, "GET", f"jobs/{stuck['id']}")[1]
        assert view["state"] == "failed"
        assert "the search head running this job (sh1) stopped answering" in view["error"]
        assert "see its splunkd.log, then start again" in view["error"]
        status, body = call(b, other, "POST", "remove")
        assert status == 200, body
        assert call(Member("sh3"), splunkd, "POST", "deploy")[0] == 409  # b holds it now
    finally:
        a.release.set()
        b.release.set()


def test_a_cluster_member_without_a_kv_store_refuses_deploy_and_remove(splunkd):
    member = splunkd.member("sh2")
    member.kv_available = False
    b = Member("sh2")
    for operation in ("deploy", "remove"):
        status, body = call(b, member, "POST", operation)
        assert status == 503, body
        assert f"cannot start a {operation}: the KV store is not available (KV Store is disabled" in body["error"]
        assert "this search head is a search head cluster member" in body["error"]
        assert "splunk show kvstore-status" in body["what_to_do"]
    b.release.set()
    assert call(b, member, "POST", "check")[0] == 200  # a check changes nothing: it may run in memory


def test_a_search_head_that_cannot_tell_whether_it_is_clustered_refuses_without_a_kv_store(splunkd):
    splunkd.kv_available = False
    splunkd.server_roles = None  # services/server/info fails too
    status, body = call(Member("sh1"), splunkd, "POST", "deploy")
    assert status == 503, body
    assert "cannot tell whether it is in a search head cluster" in body["error"]


@pytest.mark.parametrize("fail", [False, True])
def test_the_lock_is_released_when_the_job_ends(splunkd, fail):
    a, b = Member("sh1"), Member("sh2")
    a.fail = fail
    job = call(a, splunkd, "POST", "deploy")[1]["job"]
    assert [d["state"] for d in splunkd.kv[LOCKS].values()] == ["held"]
    a.release.set()
    assert poll(a, splunkd, job["id"])[0] == ("failed" if fail else "succeeded")
    wait_until(lambda: [d["state"] for d in splunkd.kv[LOCKS].values()] == ["released"], "the lock was kept")
    b.release.set()
    assert call(b, splunkd, "POST", "remove")[0] == 200  # at once, not after the stale period
