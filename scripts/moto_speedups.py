"""Patches of moto's DynamoDB: speed (same results), and the atomicity of writes.

moto answers every Query by building a sorted list of *all* the table's items
and filtering it by partition key, so a Query costs O(table) and a scaler tick
over N groups costs O(N^2) in the emulator (it is O(result) on DynamoDB).
Here a Query on the table's own keys sees only its partition's items: the
same items moto would have kept after filtering, in the same order. Queries
on an index are left as they are.
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
    bucket = self.items.get(hash_key)
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
