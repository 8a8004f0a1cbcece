"""moto's DynamoDB made cheaper per call, and its conditional writes atomic, for the local
runtime (applied by :func:`txn_moto.patches.apply`).

**Conditional writes, one at a time.** moto reads the item, evaluates the condition and stores
the new item in plain Python, so two server threads could both pass a condition on one key;
the writes are serialised (:func:`_writes_one_at_a_time`), as DynamoDB applies them atomically.

**DynamoDB UpdateItem** deep-copies the item it updates, only to hand the old image to the
table's stream; on a table without a stream (all of ours) the patch skips that copy.

**DynamoDB item size.** moto builds every stored item attribute by attribute, and each
assignment re-measures the whole item so far to enforce the 400 KB limit: quadratic in the
number of attributes (a 30-attribute record is measured 30 times). The patched constructor adds
each attribute's size to a running total instead: the total only grows while an item is built,
so it raises ``ItemSizeTooLarge`` at exactly the same attribute. Each attribute value's type
and value are read in one pass (``_attribute_values_in_one_pass``).

**DynamoDB responses.** moto's generic serialiser walks every response against the botocore
output shape, value by value (a set of a few hundred digests costs thousands of calls). The
results of ``BatchGetItem`` and ``BatchExecuteStatement`` are already in wire form (attribute
values, table names, numbers), so the patch writes them with ``json.dumps`` directly, with the
serialiser's status and headers; a result holding a binary value or a null (the two things the
walk would change) still takes the walk. ``tests/unit/moto/test_patches.py`` compares
both on the same results. Their requests are read the same way: moto's parser walks the input
shape to turn base64 into bytes, drop nulls and parse timestamps; a batch request with none of
them is what ``json.loads`` gives.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import types
from typing import Any

from txn_moto.locking import one_at_a_time

_no_stream = threading.local()


def apply() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import Item

    def deepcopy_unless_unstreamed(value: Any, memo: Any = None) -> Any:
        # UpdateItem's copy of the old item only feeds the table's stream.
        if isinstance(value, Item) and getattr(_no_stream, "active", False):
            return value
        return copy.deepcopy(value, memo)

    # ``models`` reaches ``copy.deepcopy`` through its module global ``copy``.
    models.copy = types.SimpleNamespace(**{**vars(copy), "deepcopy": deepcopy_unless_unstreamed})
    original_update = models.DynamoDBBackend.update_item

    @functools.wraps(original_update)
    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        table = self.tables.get(table_name)
        _no_stream.active = table is not None and table.stream_shard is None
        try:
            return original_update(self, table_name, *args, **kwargs)
        finally:
            _no_stream.active = False

    models.DynamoDBBackend.update_item = update_item
    _writes_one_at_a_time(models.DynamoDBBackend)
    _item_size_once()
    _plain_json_responses()


# The backend calls that read an item and then write it: each is one atomic step on DynamoDB.
_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
    "execute_statement",
    "batch_execute_statement",
)


# Held by every write that reads an item and then stores it (txn_moto.partiql's too).
WRITE_LOCK = threading.RLock()


def _writes_one_at_a_time(backend: Any) -> None:
    """moto checks a write's condition against the item it reads, then stores the new one, in
    plain Python: two server threads can both pass ``attribute_not_exists`` on one key, and both
    store (two winners of one Idempotency-Key under load). DynamoDB applies each write to an
    item atomically, so the local server applies one write at a time (:data:`WRITE_LOCK`)."""
    one_at_a_time(backend, _WRITES, WRITE_LOCK)


ITEM_SIZE_LIMIT = 405000  # moto's LimitedSizeDict bound


def _item_size_once() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict, bytesize

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        total = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            total += bytesize(key) + typed.size()
            if total > ITEM_SIZE_LIMIT:
                raise ItemSizeTooLarge
            dict.__setitem__(self.attrs, key, typed)

    Item.__init__ = __init__
    _attribute_values_in_one_pass(DynamoType)


def _attribute_values_in_one_pass(dynamo_type: Any) -> None:
    """moto's ``DynamoType`` reads its one type and value by making two lists of the attribute
    value's keys and values, then asks two methods whether it nests; built for every attribute of
    every item stored or read (nested ones included), it was a fifth of the DynamoDB process. The
    patched constructor takes the first (only) pair once: same type, same value, same nesting."""
    from moto.dynamodb.models.dynamo_type import DDBType

    list_type, map_type = DDBType.LIST, DDBType.MAP

    def __init__(self: Any, type_as_dict: Any) -> None:
        if type(type_as_dict) is dynamo_type:
            self.type, self.value = type_as_dict.type, type_as_dict.value
        else:
            self.type, self.value = next(iter(type_as_dict.items()))
        if self.type == list_type:
            self.value = [dynamo_type(value) for value in self.value]
        elif self.type == map_type:
            self.value = {key: dynamo_type(value) for key, value in self.value.items()}

    __init__.__wrapped__ = dynamo_type.__init__  # type: ignore[attr-defined]  # moto's, for the tests
    dynamo_type.__init__ = __init__


PLAIN_JSON_OPERATIONS = frozenset({"BatchGetItem", "BatchExecuteStatement"})
_WALK_NEEDED = ('"B":', '"BS":', "null")  # binary values are re-encoded, nulls dropped


def _plain_json_responses() -> None:
    from moto import settings
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    @functools.wraps(original)
    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if context.operation_model.name not in PLAIN_JSON_OPERATIONS or not isinstance(
            result, dict
        ):
            return original(self, context)
        try:
            body = json.dumps(result, indent=4 if settings.PRETTIFY_RESPONSES else None)
        except TypeError:  # bytes: binary values, which the walk encodes
            return original(self, context)
        if any(marker in body for marker in _WALK_NEEDED):
            return original(self, context)
        serializer = context.serializer_class(operation_model=context.operation_model)
        response = serializer._create_default_response()
        response["body"] = body
        response["headers"]["Content-Type"] = serializer._get_protocol_specific_content_type()
        return response["status_code"], response["headers"], response["body"]

    DynamoResult.execute_result = execute_result
    _plain_json_requests()


def _plain_json_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.parse_parameters

    @functools.wraps(original)
    def parse_parameters(self: Any, request: Any) -> None:
        if self._get_action() in PLAIN_JSON_OPERATIONS:
            body = request.data.decode("utf-8") if isinstance(request.data, bytes) else ""
            if body and not any(marker in body for marker in _WALK_NEEDED):
                params = json.loads(body)
                if isinstance(params, dict):
                    self.params = params
                    return
        original(self, request)

    DynamoHandler.parse_parameters = parse_parameters
