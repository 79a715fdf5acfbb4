"""A lease on an S3 bucket: one object that says who holds the bucket until when (in S3's time), and carries
the holder's journal. Recovery keeps its journal of writes in it; health uses one to elect its reporter."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from botocore.exceptions import ClientError

from cloudtrail_firehose.log import get_logger

LEASE_KEY = "cloudtrail-firehose-recovery.lease"  # outside every prefix Firehose or recovery writes to
LEASE_SECONDS = 900.0  # longer than the input's interval, so the holder keeps it from run to run
CLOCK_MARGIN = 10.0  # S3's Date has whole seconds and comes after the request: stop writing this early


class LeaseHeldError(Exception):
    """Another runner holds the bucket's lease."""


class S3Clock:
    """S3's time: the Date of its last answer, carried forward on this host's monotonic clock.

    The estimate trails S3's own time by at most a second or two (Date has whole seconds and is set
    before the answer arrives), which makes every judgement made with it a cautious one.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.base: float | None = None
        self.at = 0.0

    def observe(self, answer: dict) -> None:
        date = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        try:
            self.base, self.at = parsedate_to_datetime(date).timestamp(), self.monotonic()
        except (TypeError, ValueError, IndexError, AttributeError):
            pass  # no usable Date: keep the last one

    def now(self) -> float:
        if self.base is None:
            return time.time()  # no S3 answer yet
        return self.base + self.monotonic() - self.at


class Lease:
    """The right to recover one bucket, held by at most one runner, and the journal of that work.

    One S3 object says who holds the bucket until when (S3's time) and, per pending object, what was
    written, when and by whom. It is created with If-None-Match: * and replaced only with If-Match on
    the ETag just read or written, so of two runners one gets 412 Precondition Failed (or 409
    ConditionalRequestConflict) and stands by, and a runner that lost the bucket cannot write its journal.
    """

    def __init__(self, s3, bucket: str, owner: str, clock: S3Clock | None = None, seconds: float = LEASE_SECONDS,
                 key: str = LEASE_KEY) -> None:  # fmt: skip
        self.s3, self.bucket, self.owner, self.seconds, self.key = s3, bucket, owner, seconds, key
        self.clock = clock or S3Clock()
        self.etag: str | None = None
        self.valid_until = 0.0  # on the monotonic clock
        self.sent = 0.0  # monotonic time the last write of the lease was sent
        self.journal: dict[str, dict] = {}
        self.journal_lost_at: float | None = None  # when the journal was found missing or damaged
        self.status: dict = {}  # why recovery is stuck, for the health input (empty when it is not)
        self.saved = ""
        self.log = get_logger("recovery")

    def acquire(self) -> None:
        """Take or renew the lease, reading the journal its last holder left."""
        try:
            return self._put({"IfNoneMatch": "*"})
        except LeaseHeldError:
            pass
        try:
            current = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchKey":
                raise LeaseHeldError("the lease changed hands while it was read") from error
            raise
        self.clock.observe(current)
        etag, held = current["ETag"], _lease_body(current["Body"].read())
        if held is None:
            self._set_aside(etag)
            held = {"owner": "", "expires": 0.0, "objects": None, "status": {}}
        if held["owner"] != self.owner and held["expires"] > self.clock.now():
            raise LeaseHeldError(f"held by {held['owner']} for {held['expires'] - self.clock.now():.0f} s more")
        if held["objects"] is None:  # written by an older version, or damaged: what was written is unknown
            self.journal_lost_at = self.clock.now()
        self.journal, self.status = held["objects"] or {}, held["status"]
        self._put({"IfMatch": etag})

    def ensure(self) -> None:
        """Renew when half the lease is gone, so work never outlives it."""
        if self.valid_until - self.clock.monotonic() < self.seconds / 2:
            self.save()

    def save(self) -> None:
        """Write the journal, renewing the lease; LeaseHeldError when another runner has taken it."""
        self._put({"IfMatch": self.etag})

    def changed(self) -> bool:
        return self._state() != self.saved

    def _state(self) -> str:
        return json.dumps([self.journal, self.status], sort_keys=True)

    def _put(self, condition: dict) -> None:
        sent = self.clock.monotonic()
        document = {"owner": self.owner, "expires": self.clock.now() + self.seconds, "objects": self.journal,
                    "status": self.status}  # fmt: skip
        text = json.dumps(document, sort_keys=True)
        try:
            answer = self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=text.encode(), **condition)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey") or status in (409, 412):
                raise LeaseHeldError(f"another runner wrote the lease first ({code or status})") from error
            raise
        self.clock.observe(answer)
        self.etag, self.sent, self.valid_until = answer["ETag"], sent, sent + self.seconds - CLOCK_MARGIN
        self.saved = self._state()

    def _set_aside(self, etag: str) -> None:
        """A lease object that cannot be read is kept beside for a person, and replaced."""
        aside = f"{self.key}.damaged-{int(self.clock.now())}"
        self.s3.copy_object(Bucket=self.bucket, Key=aside, CopySource={"Bucket": self.bucket, "Key": self.key},
                            CopySourceIfMatch=etag)  # fmt: skip
        self.log.warning("s3://%s/%s cannot be read; kept as %s. What was written before is unknown: every "
                         "pending object waits the settle time before it is searched", self.bucket, self.key,
                         aside)  # fmt: skip


def _lease_body(data: bytes) -> dict | None:
    """owner, expires and objects (None when the journal is absent) of a lease object; None if damaged."""
    try:
        held = json.loads(data)
        owner, expires = str(held["owner"]), float(held["expires"])
    except (ValueError, KeyError, TypeError):
        return None
    objects, status = held.get("objects"), held.get("status")
    status = status if isinstance(status, dict) else {}
    if objects is None:
        return {"owner": owner, "expires": expires, "objects": None, "status": status}  # an older version's lease
    if not isinstance(objects, dict):
        return None
    entries = {key: _journal_entry(value) for key, value in objects.items()}
    if any(entry is None for entry in entries.values()):
        return None
    return {"owner": owner, "expires": expires, "objects": entries, "status": status}


_ENTRY_TYPES = {"etag": (str,), "writes": (int,), "aside_writes": (int,), "writing_until": (int, float, type(None)),
                "failures": (int,), "retry_at": (int, float), "set_aside": (str, type(None)),
                "last_error": (str,), "by": (str,), "resume": (dict, type(None))}  # fmt: skip


def _journal_entry(value: object) -> dict | None:
    if not isinstance(value, dict) or not isinstance(value.get("etag"), str):
        return None
    if any(k in value and not isinstance(value[k], kinds) for k, kinds in _ENTRY_TYPES.items()):
        return None
    return value


