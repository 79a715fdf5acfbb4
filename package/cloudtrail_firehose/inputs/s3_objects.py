"""An S3 object's body read as lines, gunzipped on the fly, with caps so memory and work stay bounded."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from cloudtrail_firehose.firehose.records import GZIP_MAGIC

MAX_LINE = 4 * 1024 * 1024  # a failed-delivery line holds at most one record of 1,000 KiB, base64'd
MAX_OBJECT = 4 * 1024 * 1024 * 1024  # decompressed bytes of one object
MAX_LINES = 1_000_000  # Firehose's 5 MiB backup buffer holds some 30,000 records
READ_CHUNK = 1024 * 1024


class ObjectError(Exception):
    """An object that cannot be read to its end; the message says why."""


@dataclass(frozen=True)
class LongLine:
    """A line over the cap, skipped without being held in memory."""

    size: int


def object_lines(body, max_line: int = MAX_LINE, max_object: int = MAX_OBJECT,
                 max_lines: int = MAX_LINES) -> Iterator[bytes | LongLine]:  # fmt: skip
    """Lines of an S3 object body (each with its newline), gunzipped on the fly when Firehose compressed it.

    Linear time, memory bounded by max_line: a longer line is read through and reported as a
    LongLine. Raises ObjectError for damaged gzip, more than max_object decompressed bytes or more
    than max_lines lines (empty ones too: 64 MiB of newlines is a 65 KB gzip).
    """
    raw = io.BufferedReader(_RawBody(body), READ_CHUNK)
    stream = io.BufferedReader(_Gunzip(raw), READ_CHUNK) if raw.peek(2)[:2] == GZIP_MAGIC else raw
    total = count = 0
    try:
        while line := stream.readline(max_line + 1):
            total, count = total + len(line), count + 1
            _check_total(total, max_object)
            if count > max_lines:
                raise ObjectError(f"has more than {max_lines} lines; recover it by hand")
            if len(line) <= max_line or line.endswith(b"\n"):
                yield line  # with its newline: JSON allows it, and a copy of a long line costs time
                continue
            size = len(line)
            del line  # read the rest of it through, a chunk at a time
            while more := stream.readline(READ_CHUNK):
                size, total = size + len(more), total + len(more)
                _check_total(total, max_object)
                if more.endswith(b"\n"):
                    break
            yield LongLine(size)
    except (EOFError, zlib.error) as error:
        raise ObjectError(f"damaged gzip after {total} bytes ({type(error).__name__}: {error})") from error


def _check_total(total: int, max_object: int) -> None:
    if total > max_object:
        raise ObjectError(f"decompresses to more than {max_object} bytes; recover it by hand")


class _Gunzip(io.RawIOBase):
    """gunzip as a raw stream that hands out everything before damage or truncation (gzip.GzipFile
    drops the last chunk it decompressed when it meets the end of a truncated file)."""

    def __init__(self, compressed) -> None:
        self.compressed = compressed
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.tail = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self.inflater.eof:  # a member ended: another may follow (concatenated gzip)
                self.tail = self.inflater.unused_data or self.compressed.read(READ_CHUNK)
                if not self.tail:
                    return 0
                self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            source = self.tail or self.compressed.read(READ_CHUNK)
            if not source:
                raise EOFError("the object ends before the end of its gzip stream (truncated)")
            out = self.inflater.decompress(source, len(buffer))
            self.tail = self.inflater.unconsumed_tail
            if out:
                buffer[: len(out)] = out
                return len(out)


class _RawBody(io.RawIOBase):
    """A botocore StreamingBody (or any object with read(size)) as a raw stream."""

    def __init__(self, body) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
