"""What preflight answers: one named check each, passed, failed, or a warning, with what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool | None  # None: a warning, deploy may still work
    detail: str
