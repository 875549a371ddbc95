"""Patches of moto: speed (same answers), and atomicity where it loses writes.

scripts/test_moto_speedups.py plays the same calls on moto as released and
as patched and checks that they answer the same. The answers differ only
where moto as released fails (a Query on a partition whose binary keys it
holds both as text and as bytes, a map with an empty key) or loses a change
under concurrent calls (see the SQS patches).

moto answers every Query by building a sorted list of *all* the table's items
and filtering it by partition key, so a Query costs O(table) and a scaler tick
over N groups costs O(N^2) in the emulator (it is O(result) on DynamoDB).
Here a Query on the table's own keys sees only its partition's items: the
same items moto would have kept after filtering, in the same order. Queries
on an index are left as they are. The SQS patches are explained below.
"""

import threading

from moto.dynamodb.models.table import Table

_scope = threading.local()
_all_items = Table.all_items
_query = Table.query


def _partition_items(self):
    hash_key = getattr(_scope, "hash_key", None)
    if hash_key is None:
        return _all_items(self)
    try:
        bucket = self.items.get(hash_key)
    except (TypeError, ArithmeticError):
        # A key no item can have (a set, a map, a number that is none):
        # moto compares it with every item, and finds none or fails; so
        # do we, the same way.
        return _all_items(self)
    if bucket is None:
        return []
    items = list(bucket.values()) if self.range_key_attr else [bucket]
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _partition_query(self, hash_key, *args, **kwargs):
    # index_name is query's eighth parameter (after self).
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if index_name is not None or hash_key is None:
        return _query(self, hash_key, *args, **kwargs)
    _scope.hash_key = hash_key
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _scope.hash_key = None


Table.all_items = _partition_items
Table.query = _partition_query


# Atomicity, not speed: moto checks a write's condition and applies the write
# in separate Python steps, and applies a transaction item by item, with no
# lock; under concurrent requests two conditional writes can both pass (two
# PUTs on one version both "win"). DynamoDB serializes conditional writes on
# an item and makes transactions all-or-nothing; one lock around every write
# gives the emulator that guarantee.
from moto.dynamodb.models import DynamoDBBackend

_writes = threading.RLock()


def _serialized(method):
    def locked(self, *args, **kwargs):
        with _writes:
            return method(self, *args, **kwargs)

    locked.__name__ = method.__name__
    return locked


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))


# SQS, speed (same answers). moto reads the clock twice per queued message
# whenever it lists a queue's ready messages or counts them, and it counts
# them (building every attribute of the queue) on each message sent and
# three times per message received, to check its retention: at 500 queued
# orders it serves 3 calls a second and at 10,000 it times out, so a tick
# fanned out to one order per group is quadratic in the groups. Here the
# clock is read once per listing or count, the retention period is read as
# the attribute it is, and a delete stops at the message it deletes.
#
# A delete also takes the queue's lock, which moto takes to add a message:
# moto's delete rebuilds the message list unlocked, so that two deletes at
# once, or a delete and a send, could each lose the other's change (a
# deleted order delivered again, a sent one gone). It still replaces the
# list rather than changing it in place, as a receive may be reading it.
from moto.sqs import models as _sqs
from moto.sqs.exceptions import ReceiptHandleIsInvalid


def _ready(self):
    now = _sqs.unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _delayed_count(self):
    now = _sqs.unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _in_flight_count(self):
    now = _sqs.unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


def _retention_ok(self, queue_name, message):
    retention_period = self.get_queue(queue_name).message_retention_period
    return retention_period + message.sent_timestamp / 1000 > _sqs.unix_time()


_released_delete = _sqs.Queue.delete_message


def _delete_message(self, receipt_handle):
    with self._messages_lock:
        if receipt_handle is None:
            # Every message never received "had" no handle: moto deletes them all.
            return _released_delete(self, receipt_handle)
        if receipt_handle in self.deleted_messages:
            return  # deleting a message twice is no error, as on SQS
        for at, message in enumerate(self._messages):
            if message.had_receipt_handle(receipt_handle):
                self.pending_messages.discard(message)
                self.deleted_messages.update(message.all_receipt_handles)
                self._messages = self._messages[:at] + self._messages[at + 1 :]
                return
        raise ReceiptHandleIsInvalid()


_sqs.Queue.messages = property(_ready)
_sqs.Queue.approximate_number_of_messages_delayed = property(_delayed_count)
_sqs.Queue.approximate_number_of_messages_not_visible = property(_in_flight_count)
_sqs.Queue.delete_message = _delete_message
_sqs.SQSBackend.is_message_valid_based_on_retention_period = _retention_ok


# DynamoDB answers, speed (same bytes out). moto writes every answer by
# walking the operation's output shape, and for each member of each value it
# tries half a dozen spellings of the member's name: for an item that is the
# ten members of an AttributeValue, for every attribute, at every level. It
# was 43 % of the emulator's time under a scaler tick, whose Query returns a
# group's twenty nodes. Here an AttributeValue that moto holds as a plain
# dict (all of them: moto converts items to dicts before answering) is
# written directly, member for member as the walk writes it: strings as
# strings, binaries in base64, maps and lists recursively, absent (None)
# members left out; anything else goes the long way.
from moto.core import serialize as _serialize

_ATTRIBUTE_VALUE_MEMBERS = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
_walk_structure = _serialize.BaseJSONSerializer._serialize_type_structure


class _NotPlain(Exception):
    pass


def _string(value):
    # As moto's string member: empty containers and None are kept as they are.
    return str(value) if value not in [None, {}, []] else value


def _plain_attribute_value(serializer, value):
    if not isinstance(value, dict):
        raise _NotPlain
    written = {}
    for kind, member in value.items():
        if member is None:
            continue  # the walk leaves out absent members
        if kind not in _ATTRIBUTE_VALUE_MEMBERS:
            raise _NotPlain  # the walk tries other spellings (`s`, `bool`…)
        if kind in ("S", "N"):
            written[kind] = _string(member)
        elif kind in ("SS", "NS"):
            written[kind] = [_string(one) for one in member]
        elif kind == "B":
            written[kind] = serializer._base64(member)
        elif kind == "BS":
            written[kind] = [serializer._base64(one) for one in member]
        elif kind == "M":
            written[kind] = {
                name: _plain_attribute_value(serializer, one) for name, one in member.items() if one is not None
            }
        elif kind == "L":
            written[kind] = [None if one is None else _plain_attribute_value(serializer, one) for one in member]
        else:  # NULL, BOOL
            written[kind] = member
    return written


def _structure(self, serialized, value, shape, key):
    if key and value is not None and set(shape.members) == _ATTRIBUTE_VALUE_MEMBERS:
        try:
            written = _plain_attribute_value(self, value)
        except _NotPlain:
            pass
        else:
            self._default_serialize(serialized, written, shape, key)
            return
    _walk_structure(self, serialized, value, shape, key)


_serialize.BaseJSONSerializer._serialize_type_structure = _structure


# Routing, speed (same routes). moto server finds each request's service by
# listing its own package's directory and checking every entry (~150) for a
# directory, under a lock all requests take. The package does not change
# while the server runs: it is listed once.
from moto import backends as _backends

_moto_modules = tuple(_backends.list_of_moto_modules())
_backends.list_of_moto_modules = lambda: _moto_modules
