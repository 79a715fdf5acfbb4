"""Long operations (check, preview, deploy, remove, drift) run as jobs: the call returns an id at once
and the page polls the job's progress. Deploy and remove never run at the same time.

Job state lives in the app's KV store collection (default/collections.conf), which replicates across
search head cluster members: any member answers a poll, and exclusivity holds cluster-wide. The
thread on the member that started a job writes each progress line and a heartbeat (`updated`) at
least every HEARTBEAT seconds; a running job whose heartbeat is older than STALE_AFTER is reported
failed and blocks nothing. Where the KV store is unavailable (disabled, as on a heavy forwarder),
jobs stay in this process's memory, and the job's first progress line says so.
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
HEARTBEAT = 30.0  # seconds between heartbeats while a job runs
STALE_AFTER = 300.0  # a running job silent this long has lost its search head
MAX_STORED_LINES = 200  # the stored document keeps the last lines only (the page has read the earlier ones)
MAX_LINE = 2000
LOCAL_ONLY = "Job state is kept only on this instance (the KV store is not available: {reason}); poll this instance"


class JobConflictError(Exception):
    pass


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
                "updated": self.updated, "instance": self.instance}  # fmt: skip

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
                   offset=int(doc.get("progress_offset") or 0), stored=True)  # fmt: skip


class Jobs:
    def __init__(self, clock: Callable[[], float] = time.time, instance: str | None = None) -> None:
        self._jobs: dict[str, Job] = {}  # the jobs this process runs (or ran)
        self._lock = threading.Lock()
        self._log = get_logger("setup")
        self.clock = clock
        self.instance = instance or socket.gethostname()

    def start(self, kind: str, work: Callable[[Callable[[str], None]], Any], splunkd: Splunkd | None = None) -> Job:
        with self._lock:
            self._refuse_if_busy(kind, self._jobs.values())
            now = self.clock()
            job = Job(uuid.uuid4().hex, kind, started=now, updated=now, instance=self.instance)
            if splunkd is not None:
                try:
                    self._store_new(job, splunkd)
                except SplunkdError as error:
                    job.id, job.stored = uuid.uuid4().hex, False
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
            doc = splunkd.send_json("GET", f"{COLLECTION}/{quote(job_id)}")
        except SplunkdError as error:
            if error.status in (404, 503):  # no such job, or no KV store here
                return None
            raise
        return self._unless_stale(Job.from_document(doc)) if isinstance(doc, dict) else None

    # --- the KV store ------------------------------------------------------------------------------

    def _store_new(self, job: Job, splunkd: Splunkd) -> None:
        """Insert, then read back: of the running exclusive jobs, the oldest wins and the others fail."""
        if job.kind in EXCLUSIVE:
            self._refuse_if_busy(job.kind, self._running(splunkd))
        job.id = str(splunkd.send_json("POST", COLLECTION, job.document())["_key"])
        job.stored = True
        if job.kind not in EXCLUSIVE:
            return
        first = min(self._running(splunkd), key=lambda j: (j.started, j.id), default=job)
        if first.id != job.id:
            job.state, job.error = "failed", _conflict(first)
            self._write(job, splunkd)
            raise JobConflictError(job.error)

    def _running(self, splunkd: Splunkd) -> list[Job]:
        docs = splunkd.send_json("GET", COLLECTION, query=json.dumps({"state": "running"}))
        jobs = [self._unless_stale(Job.from_document(d)) for d in docs if isinstance(d, dict)]
        return [j for j in jobs if j.state == "running" and j.kind in EXCLUSIVE]

    def _unless_stale(self, job: Job) -> Job:
        if job.state == "running" and self.clock() - job.updated > STALE_AFTER:
            silent = int(self.clock() - job.updated)
            job.state = "failed"
            job.error = (f"the search head running this job ({job.instance or 'unknown'}) stopped answering "
                         f"{silent} seconds ago; see its splunkd.log, then start again")  # fmt: skip
        return job

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


def _conflict(job: Job) -> str:
    return f"a {job.kind} is already running (job {job.id}); wait for it to finish"
