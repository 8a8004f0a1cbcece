"""What AWS decides for one request against a principal's identity policies, for the IAM census.

No maintained Python package evaluates a request context against IAM conditions: policyuniverse,
cloudsplaining, policy_sentry and parliament parse, expand, generate or lint policies, and moto's
``IAMPolicy`` (moto/iam/access_control.py) matches actions and resources but ignores
``Condition``. So this module does the part of AWS's evaluation logic the census needs, as the
IAM User Guide states it ("Policy evaluation logic", "The difference between explicit and
implicit denies", "Conditions with multiple context keys or values", "Condition operators"):

- a request is allowed when some ``Allow`` statement matches and no ``Deny`` does; an explicit
  deny wins; nothing matching is an implicit deny;
- a statement matches when an ``Action`` pattern matches (case-insensitive, ``*`` and ``?``), a
  ``Resource`` pattern matches (ARN segments compared one by one, case-sensitive), and every
  condition holds: operators AND, keys AND, the values of one key OR; a key missing from the
  request context makes its condition false.

Only what the stacks' documents use is covered: ``StringEquals``, ``StringLike``, ``ArnEquals`` and
``ArnLike`` on single-valued keys, and ``Null`` (``"true"``: the key is absent from the request,
``"false"``: present). Anything else (``NotAction``, ``NotResource``, other or
``...IfExists`` operators, set operators, policy variables) raises :class:`Unsupported` instead of
guessing, so a policy that grows past this module fails the census loudly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

Statement = Mapping[str, Any]


class Unsupported(ValueError):
    """The policy uses an element or operator this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    action: str  # "dynamodb:GetItem"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: Mapping[str, str] = field(default_factory=dict)  # condition key -> value


@cache
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    if "${" in pattern:
        raise Unsupported(f"policy variables are not supported: {pattern!r}")
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def like(pattern: str, value: str) -> bool:
    """StringLike: case-sensitive, ``*`` any run of characters, ``?`` one character."""
    return _glob(pattern, False).match(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike (and the Resource element): each of the six colon-delimited parts on its own."""
    if pattern == "*":
        return True
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(got) == 6 and all(map(like, wanted, got))


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": like,
    # ArnEquals matches as ArnLike does (the IAM condition operators page: both compare each
    # of the six parts, wildcards allowed)
    "ArnEquals": arn_like,
    "ArnLike": arn_like,
}


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _element(statement: Statement, name: str) -> list[str]:
    if f"Not{name}" in statement:
        raise Unsupported(f"Not{name} is not supported (statement {statement.get('Sid')!r})")
    return [str(v) for v in _values(statement[name])]


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    by_key = {k.lower(): v for k, v in context.items()}  # condition key names ignore case
    for operator, keys in condition.items():
        if operator == "Null":
            for key, wanted in keys.items():
                if wanted not in ("true", "false", True, False):
                    raise Unsupported(f"Null takes true or false, got {wanted!r}")
                if (key.lower() in by_key) == (str(wanted).lower() == "true"):
                    return False
            continue
        test = OPERATORS.get(operator)
        if test is None:
            raise Unsupported(f"condition operator {operator} is not supported")
        for key, wanted in keys.items():
            value = by_key.get(key.lower())
            if value is None or not any(test(str(w), value) for w in _values(wanted)):
                return False
    return True


def action_matches(statement: Statement, action: str) -> bool:
    return any(_glob(p, True).match(action) for p in _element(statement, "Action"))


def matches(statement: Statement, request: Request) -> bool:
    """Whether ``statement`` applies to ``request`` (whatever its effect)."""
    if "Principal" in statement or "NotPrincipal" in statement:
        raise Unsupported("identity policies only: a statement with a Principal was given")
    return (
        action_matches(statement, request.action)
        and any(arn_like(p, request.resource) for p in _element(statement, "Resource"))
        and condition_holds(statement.get("Condition", {}), request.context)
    )


@dataclass(frozen=True)
class Decision:
    effect: str  # "Allow", "ExplicitDeny" or "ImplicitDeny"
    statements: tuple[str, ...] = ()  # Sids of the statements that decided

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"


def decide(statements: Sequence[Statement], request: Request) -> Decision:
    """AWS's decision for ``request`` given a principal's identity-based statements."""
    applying = [s for s in statements if matches(s, request)]
    denies = tuple(str(s.get("Sid", "")) for s in applying if s["Effect"] == "Deny")
    if denies:
        return Decision("ExplicitDeny", denies)
    allows = tuple(str(s.get("Sid", "")) for s in applying if s["Effect"] == "Allow")
    return Decision("Allow", allows) if allows else Decision("ImplicitDeny")
