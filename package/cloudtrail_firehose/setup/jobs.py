"""Long operations (check, preview, deploy, remove, drift) run as jobs: the call returns an id at once
and the page polls the job's progress. Deploy and remove never run at the same time.

Job state lives in the app's KV store collection (default/collections.conf), which replicates across
search head cluster members, so any member answers a poll. The thread on the member that started a
job writes each progress line and a heartbeat at least every HEARTBEAT seconds, each write counting
up `beat`. A member judges a running job dead when it has seen the same `beat` for STALE_AFTER
seconds of its own monotonic clock: members' wall clocks may disagree by minutes.

On a cluster, writes go to the KV store captain but reads may come from a member's lagging copy
("About the app key value store"), so a read-then-write cannot make deploy and remove exclusive.
The lock is an insert with a fixed `_key`, which the KV store lets only one member make: lock
generation n+1 (collection cloudtrail_firehose_locks) is inserted by whoever finds generation n
released, or held by a finished or dead job; a second insert answers 409. Lock documents are never
deleted (a delete of a fixed key could remove a newer holder's lock); the holder marks its own one
released when the job ends. Where the KV store is unavailable jobs stay in this process's memory
(the job's first progress line says so), except deploy and remove on a search head cluster member,
or where this search head cannot tell whether it is one: there nothing would keep two members apart.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from cloudtrail_firehose.log import get_logger
from cloudtrail_firehose.splunk.splunkd import Splunkd, SplunkdError, quote

EXCLUSIVE = ("deploy", "remove")
KEEP_FINISHED = 50
COLLECTION = "servicesNS/nobody/cloudtrail_firehose/storage/collections/data/cloudtrail_firehose_jobs"
LOCKS = "servicesNS/nobody/cloudtrail_firehose/storage/collections/data/cloudtrail_firehose_locks"
CLUSTER_ROLES = {"shc_member", "shc_captain"}  # services/server/info's server_roles on a cluster member
HEARTBEAT = 30.0  # seconds between heartbeats while a job runs
STALE_AFTER = 300.0  # a running job silent this long has lost its search head
MAX_STORED_LINES = 200  # the stored document keeps the last lines only (the page has read the earlier ones)
MAX_LINE = 2000
LOCAL_ONLY = "Job state is kept only on this instance (the KV store is not available: {reason}); poll this instance"
NEEDS_KV = ("cannot start a {kind}: the KV store is not available ({reason}) and {where}, where only the KV store "
            "keeps two members from running a deploy or remove at once")  # fmt: skip
RACING = "another deploy or remove was started on another search head a moment ago; wait a few seconds, then try again"


class JobConflictError(Exception):
    pass


class JobStoreError(Exception):
    """An exclusive job needs the KV store here (a search head cluster member, or one that cannot tell)."""


@dataclass
class Job:
    id: str
    kind: str
    state: str = "running"  # running, succeeded, failed
    progress: list[str] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    started: float = 0.0
    updated: float = 0.0
    instance: str = ""  # the host whose thread runs the job
    offset: int = 0  # progress lines dropped from the front of a stored document
    stored: bool = False  # kept in the KV store (else only in this process)
    beat: int = 0  # counts the stored writes: other members watch it change, not the holder's clock
    lock: int = 0  # the lock generation this job holds (0: none)

    def view(self, since: int = 0) -> dict:
        lines = self.progress[max(0, since - self.offset) :]
        return {"id": self.id, "kind": self.kind, "state": self.state, "progress": lines,
                "next": self.offset + len(self.progress), "result": self.result, "error": self.error}  # fmt: skip

    def document(self) -> dict:
        """The stored form: bounded, the result as JSON text (results hold no secret)."""
        kept = [line[:MAX_LINE] for line in self.progress[-MAX_STORED_LINES:]]
        return {"kind": self.kind, "state": self.state, "progress": kept,
                "progress_offset": self.offset + len(self.progress) - len(kept),
                "result": json.dumps(self.result), "error": self.error or "", "started": self.started,
                "updated": self.updated, "instance": self.instance, "beat": self.beat}  # fmt: skip

    @classmethod
    def from_document(cls, doc: dict) -> Job:
        try:
            result = json.loads(doc.get("result") or "null")
        except ValueError:
            result = None
        return cls(id=str(doc.get("_key", "")), kind=str(doc.get("kind", "")), state=str(doc.get("state", "failed")),
                   progress=[str(p) for p in doc.get("progress") or []], result=result,
                   error=doc.get("error") or None, started=float(doc.get("started") or 0),
                   updated=float(doc.get("updated") or 0), instance=str(doc.get("instance", "")),
                   offset=int(doc.get("progress_offset") or 0), stored=True,
                   beat=int(doc.get("beat") or 0))  # fmt: skip


class Jobs:
    def __init__(self, clock: Callable[[], float] = time.time, instance: str | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._jobs: dict[str, Job] = {}  # the jobs this process runs (or ran)
        self._lock = threading.Lock()
        self._log = get_logger("setup")
        self.clock = clock  # wall clock: only for the record, never compared with another member's
        self.monotonic = monotonic
        self.instance = instance or socket.gethostname()
        self._seen: dict[str, tuple[int, float]] = {}  # job id -> (beat, when this member first saw it)

    def start(self, kind: str, work: Callable[[Callable[[str], None]], Any], splunkd: Splunkd | None = None) -> Job:
        with self._lock:
            self._refuse_if_busy(kind, self._jobs.values())
            now = self.clock()
            job = Job(uuid.uuid4().hex, kind, started=now, updated=now, instance=self.instance)
            if splunkd is not None:
                try:
                    self._store_new(job, splunkd)
                except SplunkdError as error:
                    self._refuse_without_kv(kind, error, splunkd)
                    job.progress.append(LOCAL_ONLY.format(reason=error.message[:200]))
                    self._log.warning("%s: KV store not available, job state kept in memory: %s", kind, error)
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=self._run, args=(job, work, splunkd), daemon=True, name=f"{kind}-{job.id}").start()
        return job

    def get(self, job_id: str, splunkd: Splunkd | None = None) -> Job | None:
        if job_id in self._jobs or splunkd is None:
            return self._jobs.get(job_id)
        try:
            doc = self._read(splunkd, f"{COLLECTION}/{quote(job_id)}")
        except SplunkdError as error:
            if error.status == 503:  # no KV store here
                return None
            raise
        return self._unless_stale(Job.from_document(doc)) if doc is not None else None

    # --- the KV store ------------------------------------------------------------------------------

    def _store_new(self, job: Job, splunkd: Splunkd) -> None:
        if job.kind in EXCLUSIVE:
            self._take_lock(job, splunkd)
        try:
            splunkd.send_json("POST", COLLECTION, {**job.document(), "_key": job.id})
        except SplunkdError:
            self._release(job, splunkd)
            raise
        job.stored = True

    def _take_lock(self, job: Job, splunkd: Splunkd) -> None:
        """Insert the next lock generation; the KV store keeps _key unique, so of members racing one wins."""
        top = splunkd.send_json("GET", LOCKS, sort="generation:-1", limit="1")
        top = top[0] if isinstance(top, list) and top else None
        for _ in range(3):
            if top is not None and top.get("state") == "held":
                holder = self._holder(top, splunkd)
                if holder.state == "running":
                    raise JobConflictError(_conflict(holder))
            generation = int(top["generation"]) + 1 if top is not None else 1
            try:
                splunkd.send_json("POST", LOCKS, {**_lock_document(job, generation, "held"), "_key": _key(generation)})
                job.lock = generation
                return
            except SplunkdError as error:
                if error.status != 409:  # 409: another member inserted this generation first
                    raise
            top = self._read(splunkd, f"{LOCKS}/{_key(generation)}")  # this member's copy may not have it yet
            if top is None:
                break
        raise JobConflictError(RACING)

    def _holder(self, lock: dict, splunkd: Splunkd) -> Job:
        doc = self._read(splunkd, f"{COLLECTION}/{quote(str(lock.get('job', '')))}")
        if doc is None:  # not stored yet, or not replicated here yet: running until seen silent
            doc = {"_key": lock.get("job"), "kind": lock.get("kind"), "instance": lock.get("instance"),
                   "state": "running", "beat": -1}  # fmt: skip
        return self._unless_stale(Job.from_document(doc))

    def _release(self, job: Job, splunkd: Splunkd) -> None:
        """Mark this job's own lock document released; the next starter inserts the next generation."""
        if not job.lock:
            return
        try:
            splunkd.send_json("POST", f"{LOCKS}/{_key(job.lock)}", _lock_document(job, job.lock, "released"))
        except SplunkdError as error:  # the job's finished state frees the lock too
            self._log.warning("%s %s: could not release the lock: %s", job.kind, job.id, error)

    def _refuse_without_kv(self, kind: str, error: SplunkdError, splunkd: Splunkd) -> None:
        if kind not in EXCLUSIVE:
            return
        member = _cluster_member(splunkd)
        if member is False:  # a standalone instance: this process's lock is the only one needed
            return
        where = ("this search head is a search head cluster member" if member
                 else "this search head cannot tell whether it is in a search head cluster")  # fmt: skip
        raise JobStoreError(NEEDS_KV.format(kind=kind, reason=error.message[:200], where=where)) from error

    def _unless_stale(self, job: Job) -> Job:
        if job.state != "running":
            self._seen.pop(job.id, None)
            return job
        now = self.monotonic()
        beat, since = self._seen.get(job.id, (None, now))
        if beat != job.beat:
            self._seen[job.id] = (job.beat, now)
        elif now - since > STALE_AFTER:
            job.state = "failed"
            job.error = (f"the search head running this job ({job.instance or 'unknown'}) stopped answering: "
                         f"no progress or heartbeat seen for {int(now - since)} seconds; see its splunkd.log, "
                         "then start again")  # fmt: skip
        return job

    def _read(self, splunkd: Splunkd, path: str) -> dict | None:
        try:
            doc = splunkd.send_json("GET", path)
        except SplunkdError as error:
            if error.status == 404:
                return None
            raise
        return doc if isinstance(doc, dict) else None

    def _write(self, job: Job, splunkd: Splunkd) -> None:
        try:
            splunkd.send_json("POST", f"{COLLECTION}/{quote(job.id)}", job.document())
        except SplunkdError as error:  # the job goes on; the next write may get through
            self._log.warning("%s %s: could not store the job's state: %s", job.kind, job.id, error)

    # --- the job's thread --------------------------------------------------------------------------

    def _run(self, job: Job, work: Callable[[Callable[[str], None]], Any], splunkd: Splunkd | None) -> None:
        lock = threading.Lock()
        done = threading.Event()

        def save(state: Job) -> None:
            if job.stored and splunkd is not None:
                with lock:
                    if done.is_set() and state is job:  # a late heartbeat: the end is stored, or about to be
                        return
                    job.updated = state.updated = self.clock()
                    job.beat = state.beat = job.beat + 1
                    self._write(state, splunkd)

        def progress(line: str) -> None:
            job.progress.append(line)
            self._log.info("%s %s: %s", job.kind, job.id, line)
            save(job)

        def heartbeat() -> None:  # work may wait minutes inside one AWS call
            while not done.wait(HEARTBEAT):
                save(job)

        if job.stored:
            threading.Thread(target=heartbeat, daemon=True, name=f"heartbeat-{job.id}").start()
        try:
            end = {"result": work(progress), "state": "succeeded"}
        except Exception as error:  # noqa: BLE001 - any failure must reach the page, not kill the process
            end = {"error": str(error), "state": "failed"}
            self._log.error("%s %s failed: %s", job.kind, job.id, error)
        done.set()
        save(replace(job, **end))  # stored first: once this member says finished, every member does
        if job.stored and splunkd is not None:
            self._release(job, splunkd)
        for name, value in end.items():
            setattr(job, name, value)

    def _refuse_if_busy(self, kind: str, jobs) -> None:
        busy = [j for j in jobs if j.state == "running" and j.kind in EXCLUSIVE]
        if kind in EXCLUSIVE and busy:
            raise JobConflictError(_conflict(busy[0]))

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.state != "running"), key=lambda j: j.started)
        for job in finished[:-KEEP_FINISHED]:
            del self._jobs[job.id]


def _cluster_member(splunkd: Splunkd) -> bool | None:
    """Whether splunkd's server_roles name a search head cluster member; None where it cannot tell."""
    try:
        roles = splunkd.get("services/server/info")["entry"][0]["content"].get("server_roles") or []
    except (SplunkdError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return bool(CLUSTER_ROLES & set(roles))


def _key(generation: int) -> str:
    return f"lock-{generation:09d}"


def _lock_document(job: Job, generation: int, state: str) -> dict:
    return {"generation": generation, "job": job.id, "kind": job.kind, "instance": job.instance, "state": state}


def _conflict(job: Job) -> str:
    return f"a {job.kind} is already running (job {job.id}); wait for it to finish"
