"""S3 conditional writes in moto as the Amazon S3 User Guide documents them.

"How to prevent object overwrites with conditional writes": a PutObject with If-None-Match: *
fails with 412 Precondition Failed when the key exists, one with If-Match: <ETag> fails when the
object's ETag differs, and of conflicting concurrent writes only one succeeds (the others get 412,
or 409 ConditionalRequestConflict). moto 5 checks both headers, but checks and stores in two steps,
so two threads can both pass the check and both "win". Importing this module makes each PutObject
one step, as S3 is. tests/inputs/test_recovery.py shows the documented behaviour.
"""

from __future__ import annotations

import threading

from moto.s3.responses import S3Response

_lock = threading.Lock()
_put_object = S3Response.put_object


def _atomic_put_object(self: S3Response):
    with _lock:
        return _put_object(self)


S3Response.put_object = _atomic_put_object
