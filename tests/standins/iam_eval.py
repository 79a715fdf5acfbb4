"""A small IAM policy evaluator: enough of IAM's rules to say whether a service's real request is allowed.

The rules, from the IAM User Guide:
- "IAM JSON policy elements: Resource": an ARN has six colon-separated segments
  (arn:partition:service:region:account:resource); wildcards apply within a segment: "*" is any run of
  characters (none included) and "?" one character. The resource segment is everything after the fifth
  colon, so "*" there also spans ":" and "/" (log-group:NAME:* covers the group's streams).
- "IAM JSON policy elements: Action": service prefix and action name are case-insensitive; wildcards allowed.
- "IAM JSON policy elements: Condition operators": StringEquals / StringLike (case-sensitive, * and ? in
  Like), ArnEquals / ArnLike (segment-wise like Resource), Bool. A condition whose key is not in the
  request context is false (only ...IfExists and Null say otherwise). Several values for one key: any
  matches. Several keys or operators: all must hold.
- "Policy evaluation logic": an explicit Deny wins; otherwise an Allow is needed; otherwise denied.
- Only actions exist: a name in no action list of the Service Authorization Reference (cfn-lint ships it as
  Policies.json) can be granted by no policy.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any


def _wildcard(pattern: str, text: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(_wildcard(w, a) for w, a in zip(wanted, actual))  # both six segments (Python 3.9: no strict=)


def action_matches(pattern: str, action: str) -> bool:
    return _wildcard(pattern, action, ignore_case=True)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


OPERATORS = {
    "StringEquals": lambda want, have: want == have,
    "StringLike": lambda want, have: _wildcard(want, have),
    "ArnEquals": arn_matches,
    "ArnLike": arn_matches,
    "Bool": lambda want, have: str(want).lower() == str(have).lower(),
}


def condition_keys(statement: dict) -> set[str]:
    return {key for block in statement.get("Condition", {}).values() for key in block}


def conditions_hold(statement: dict, context: dict[str, str]) -> bool:
    for operator, block in statement.get("Condition", {}).items():
        assert operator in OPERATORS, f"the evaluator does not know the condition operator {operator}"
        for key, wanted in block.items():
            present = {k.lower(): v for k, v in context.items()}  # condition key names are case-insensitive
            if key.lower() not in present:
                return False
            if not any(OPERATORS[operator](str(w), str(present[key.lower()])) for w in _as_list(wanted)):
                return False
    return True


def principal_matches(statement: dict, service: str | None) -> bool:
    if "Principal" not in statement:  # an identity policy: the principal is whoever holds it
        return True
    principal = statement["Principal"]
    if principal == "*":
        return True
    return service is not None and service in _as_list(principal.get("Service", []))


def _applies(statement: dict, action: str, resource: str, context: dict[str, str], service: str | None) -> bool:
    return (
        any(action_matches(a, action) for a in _as_list(statement["Action"]))
        and any(arn_matches(r, resource) for r in _as_list(statement.get("Resource", "*")))
        and principal_matches(statement, service)
        and conditions_hold(statement, context)
    )


def allowed(statements: list[dict], action: str, resource: str, context: dict[str, str] | None = None,
            service: str | None = None) -> bool:  # fmt: skip
    """Whether these statements allow the request (explicit Deny first, then any Allow)."""
    context = context or {}
    matching = [s for s in statements if _applies(s, action, resource, context, service)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


@functools.cache
def iam_actions() -> dict[str, frozenset[str]]:
    """service prefix -> its IAM action names, lower-case (Service Authorization Reference, as cfn-lint ships it)."""
    import cfnlint

    services = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    return {prefix: frozenset(name.lower() for name in spec.get("Actions", {})) for prefix, spec in services.items()}


def is_action(action: str) -> bool:
    """Whether IAM knows this action (names are case-insensitive)."""
    service, _, name = action.partition(":")
    return name.lower() in iam_actions().get(service.lower(), frozenset())
