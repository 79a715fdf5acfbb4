"""Long operations (check, preview, deploy, remove) run as jobs: the call returns an id at once and
the page polls the job's progress. Deploy and remove never run at the same time."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudtrail_firehose.log import get_logger

EXCLUSIVE = ("deploy", "remove")
KEEP_FINISHED = 50


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
    started: float = field(default_factory=time.time)

    def view(self, since: int = 0) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "progress": self.progress[since:],
                "next": len(self.progress), "result": self.result, "error": self.error}  # fmt: skip


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._log = get_logger("setup")

    def start(self, kind: str, work: Callable[[Callable[[str], None]], Any]) -> Job:
        with self._lock:
            busy = [j for j in self._jobs.values() if j.state == "running" and j.kind in EXCLUSIVE]
            if kind in EXCLUSIVE and busy:
                raise JobConflictError(f"a {busy[0].kind} is already running (job {busy[0].id}); wait for it to finish")
            job = Job(uuid.uuid4().hex, kind)
            self._jobs[job.id] = job
            self._forget_old()
        threading.Thread(target=self._run, args=(job, work), daemon=True, name=f"{kind}-{job.id}").start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def _run(self, job: Job, work: Callable[[Callable[[str], None]], Any]) -> None:
        def progress(line: str) -> None:
            job.progress.append(line)
            self._log.info("%s %s: %s", job.kind, job.id, line)

        try:
            job.result = work(progress)
            job.state = "succeeded"
        except Exception as error:  # noqa: BLE001 - any failure must reach the page, not kill the process
            job.error = str(error)
            job.state = "failed"
            self._log.error("%s %s failed: %s", job.kind, job.id, error)

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.state != "running"), key=lambda j: j.started)
        for job in finished[:-KEEP_FINISHED]:
            del self._jobs[job.id]
