"""What the fraud detector does with every SQS batch before its own work: parse each message
body into its model and group the message ids by transaction (a sale and a fraud report alike
name one), so a transaction sent twice in a batch is handled once and acknowledged twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from txn_domain.errors import BadRequestError


class Named(Protocol):
    @property
    def transaction_id(self) -> str: ...


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T", bound=Named)


def parse(model: type[M], body: str, what: str) -> M:
    """``body`` as ``model``; a coded 400 naming the first bad field otherwise."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        loc = ".".join(str(p) for p in exc.errors(include_input=False)[0]["loc"])
        raise BadRequestError(f"queued message is not {what}", field=loc or None) from None


def by_transaction(
    records: Sequence[Mapping[str, Any]],
    read: Callable[[str], T],
    failures: dict[str, Exception],
) -> tuple[dict[str, T], dict[str, list[str]]]:
    """(the first parsed message per transaction id, every message id per transaction id);
    a message that does not parse goes to ``failures`` under its message id."""
    first: dict[str, T] = {}
    message_ids: dict[str, list[str]] = {}
    for record in records:
        try:
            parsed = read(record["body"])
        except BadRequestError as exc:
            failures[record["messageId"]] = exc
            continue
        first.setdefault(parsed.transaction_id, parsed)
        message_ids.setdefault(parsed.transaction_id, []).append(record["messageId"])
    return first, message_ids
