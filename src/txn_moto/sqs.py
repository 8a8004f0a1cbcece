"""moto's SQS made thread-safe and cheaper per message, for the local runtime (applied by
:func:`txn_moto.patches.apply`).

**SQS is not thread-safe in moto.** Its threaded server runs concurrent calls on the same
queue: a ``DeleteMessage`` rebuilds the queue's message list while a ``SendMessage`` appends to
it (the new message is lost), and two concurrent receives can hand out the same message. The
patch runs every SQS backend call one at a time; a long poll waits outside the lock, so it
never holds up senders.

**SQS receive cost.** For every message it hands out, moto checks the retention period by
reading the queue's attributes, which rebuilds all of them (three scans of the queue for the
approximate counts) two or three times: a receive of 10 messages on a queue of a few hundred
scanned it thousands of times. The patch reads the retention period directly, and a request
for named attributes builds them once. The queue's scans (visible messages, the approximate
counts, also rebuilt on every ``SendMessage``) read the clock once per scan instead of once
per message. Same answers, a fraction of the work.

**SQS answers.** ``SendMessage``, ``DeleteMessageBatch`` and ``ReceiveMessage`` results are
written with ``json.dumps`` in the JSON protocol (see :func:`_plain_json_sqs_results`).

**SQS per-message work.** The clock is read with ``time.time()`` (moto subtracts two
datetimes, several times per message). ``DeleteMessage`` walked the queue twice per receipt
handle (now once); receipt handles and request ids were drawn one character per call to the random
generator (now one call each); the queue attribute and action names went through the
CamelCase-to-snake conversion on every call (now once per name).

**SQS queue attributes on demand.** ``SendMessage`` reads one queue attribute
(``ContentBasedDeduplication``) through ``Queue.attributes``, which builds all of them, the
approximate counts by three scans of the queue. The patched property is a read-only mapping
with the same names and values that works out a value when it is read.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from txn_moto.locking import one_at_a_time

_SQS_CALLS = (
    "send_message",
    "send_message_batch",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
)
_POLL_SECONDS = 0.02


def unix_time() -> float:
    """moto's ``unix_time()``: seconds since the epoch, now (moto builds two datetimes and
    subtracts them, a few microseconds each time; SQS reads the clock several times a message)."""
    return time.time()


def unix_time_millis() -> float:
    return time.time() * 1000.0


def apply() -> None:
    from moto.sqs import models

    # SQS's module reads the clock through these names; called without a datetime, always.
    models.unix_time = unix_time
    models.unix_time_millis = unix_time_millis

    backend = models.SQSBackend
    sqs_lock = threading.RLock()
    one_at_a_time(backend, _SQS_CALLS, sqs_lock)

    receive = backend.receive_message

    @functools.wraps(receive)
    def receive_message(
        self: Any, queue_name: str, count: int, wait_seconds_timeout: int, *args: Any, **kw: Any
    ) -> Any:
        # Long polling as short polls under the lock, waiting between them without it.
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with sqs_lock:
                messages = receive(self, queue_name, count, 0, *args, **kw)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(_POLL_SECONDS)

    backend.receive_message = receive_message

    def is_message_valid_based_on_retention_period(
        self: Any, queue_name: str, message: Any
    ) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    backend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    original_attributes = backend.get_queue_attributes

    @functools.wraps(original_attributes)
    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> Any:
        if not attribute_names or "All" in attribute_names:
            return original_attributes(self, queue_name, attribute_names)
        queue = self.get_queue(queue_name)
        valid = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
        if any(name not in valid for name in attribute_names):
            return original_attributes(self, queue_name, attribute_names)  # moto's error
        everything = queue.attributes  # built once, not once per name
        return {
            name: everything[name]
            for name in attribute_names
            if name in everything and everything[name] is not None
        }

    backend.get_queue_attributes = get_queue_attributes
    one_at_a_time(backend, ("get_queue_attributes",), sqs_lock)
    _one_clock_read_per_scan(models.Queue, unix_time_millis)
    _one_pass_delete(models.Queue)
    _cheap_identifiers(models)
    _attribute_names_once(models)
    _attributes_on_demand(models)
    _plain_json_sqs_results()


def _one_clock_read_per_scan(queue_class: Any, now_ms: Any) -> None:
    """moto's ``Message.visible`` (``now > visible_at``) and ``Message.delayed``
    (``now < delayed_until``), evaluated against one reading of the clock per scan."""

    def messages(self: Any) -> list[Any]:
        now = now_ms()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self: Any) -> int:
        now = now_ms()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self: Any) -> int:
        now = now_ms()
        return sum(1 for m in self._messages if not now > m.visible_at)

    queue_class.messages = property(messages)
    queue_class.approximate_number_of_messages_delayed = property(delayed)
    queue_class.approximate_number_of_messages_not_visible = property(not_visible)


class QueueAttributes(Mapping[str, Any]):
    """A queue's attributes as moto's ``Queue.attributes`` builds them (same names, order and
    values), each worked out when it is read."""

    def __init__(self, queue: Any, python_name: Any):
        self._queue = queue
        self._python_name = python_name
        names = list(queue.BASE_ATTRIBUTES)
        names += queue.FIFO_ATTRIBUTES if queue.fifo_queue else []
        names += queue.KMS_ATTRIBUTES if queue.kms_master_key_id else []
        self._names = dict.fromkeys(names)

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        queue = self._queue
        if name == "Policy" and queue.policy:
            value = queue.policy
        elif name == "RedrivePolicy" and queue.redrive_policy:
            value = json.dumps(queue.redrive_policy)
        else:
            value = getattr(queue, self._python_name(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _attributes_on_demand(models: Any) -> None:
    def attributes(queue: Any) -> QueueAttributes:
        return QueueAttributes(queue, models.camelcase_to_underscores)

    attributes.__wrapped__ = models.Queue.attributes.fget  # type: ignore[attr-defined]  # moto's, for the tests
    models.Queue.attributes = property(attributes)


PLAIN_JSON_SQS_OPERATIONS = frozenset({"SendMessage", "DeleteMessageBatch", "ReceiveMessage"})


def _plain_json_sqs_results() -> None:
    """``SendMessage`` (one per transaction), ``DeleteMessageBatch`` and ``ReceiveMessage``
    answer plain dicts of strings (ids, digests, bodies, string attributes) and booleans: in the
    JSON protocol they go out with ``json.dumps`` instead of moto's walk over the output shape,
    with the serialiser's status and headers. A result holding bytes (a binary message
    attribute, which the walk encodes) or a ``None`` (which it drops) still takes the walk, as
    do the query protocol (XML) and every other operation."""
    from moto import settings
    from moto.core.responses import ActionResult
    from moto.core.serialize import JSONSerializer

    original = ActionResult.execute_result

    @functools.wraps(original)
    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if (
            context.operation_model.name not in PLAIN_JSON_SQS_OPERATIONS
            or context.service_model.service_name != "sqs"
            or not issubclass(context.serializer_class, JSONSerializer)
            or not _plain(result)
        ):
            return original(self, context)
        serializer = context.serializer_class(operation_model=context.operation_model)
        response = serializer._create_default_response()
        response["body"] = json.dumps(result, indent=4 if settings.PRETTIFY_RESPONSES else None)
        response["headers"]["Content-Type"] = serializer._get_protocol_specific_content_type()
        return response["status_code"], response["headers"], response["body"]

    ActionResult.execute_result = execute_result


def _plain(value: Any) -> bool:
    """Strings, numbers and booleans in dicts and lists: what ``json.dumps`` writes as the walk
    would."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, str | int | float)


def _one_pass_delete(queue_class: Any) -> None:
    """moto's ``Queue.delete_message`` walks the queue twice per receipt handle and rebuilds
    every message's list of handles on each step; one walk with a direct comparison finds the
    same message(s). Same rules: a handle already deleted is ignored, an unknown one raises."""
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        kept: list[Any] = []
        gone: list[Any] = []
        for message in self._messages:
            had = (
                message.receipt_handle == receipt_handle
                or receipt_handle in message._old_receipt_handles
            )
            (gone if had else kept).append(message)
        if not gone:
            raise ReceiptHandleIsInvalid()
        for message in gone:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
        self._messages = kept

    queue_class.delete_message = delete_message


def _cheap_identifiers(models: Any) -> None:
    """Receipt handles (185 letters per received message) and request ids (52 letters and
    digits per response) made from one ``randbytes`` call mapped onto the alphabet, instead of
    one ``choice`` call per character: same alphabet, length and generator (moto's seedable
    one); a byte maps onto 26 or 62 characters, so some are a little likelier: these are
    identifiers, not secrets."""
    import string

    from moto.moto_api._internal.moto_random import MotoRandom

    random = models.random

    def alphabet_table(alphabet: str) -> bytes:
        return bytes(ord(alphabet[byte % len(alphabet)]) for byte in range(256))

    letters = alphabet_table(string.ascii_lowercase)
    tables = {
        (True, False): alphabet_table(string.ascii_letters + string.digits),
        (False, False): alphabet_table(string.ascii_letters),
        (True, True): alphabet_table(string.ascii_lowercase + string.digits),
        (False, True): letters,
    }

    def generate_receipt_handle() -> str:
        return random.randbytes(RECEIPT_HANDLE_LENGTH).translate(letters).decode()

    models.generate_receipt_handle = generate_receipt_handle

    def get_random_string(
        self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False
    ) -> str:
        return self.randbytes(length).translate(tables[include_digits, lower_case]).decode()

    MotoRandom.get_random_string = get_random_string


RECEIPT_HANDLE_LENGTH = 185  # moto's


def _attribute_names_once(models: Any) -> None:
    """moto turns each queue attribute name into its Python name, character by character, for
    every attribute, every time it builds a queue's attributes (``SendMessage`` does, to read
    one), and every action name into its method name on every request; the names are a small
    fixed set, so each is converted once."""
    from moto.core import responses, utils

    convert = functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores)
    models.camelcase_to_underscores = convert
    responses.camelcase_to_underscores = convert  # the action's method name, per request
