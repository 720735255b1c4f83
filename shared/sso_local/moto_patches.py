"""Make moto's DynamoDB writes behave like DynamoDB's: atomic and serializable, transactions O(items touched).

moto 5 snapshots every table a transaction touches with ``copy.deepcopy`` (O(table size) per transaction:
about 0.4 s at 4,000 items) and restores the snapshot on failure without any lock, so two concurrent
transactions on the moto server can undo each other's committed writes. DynamoDB does neither. This patch
serialises transactions and snapshots only the items the transaction names, which keeps moto's
semantics (all or nothing) and makes race tests and benchmarks meaningful. It changes nothing else.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_LOCK = threading.RLock()
_installed = False


class _NoTableCopy:
    """Stands in for the ``copy`` module inside moto's DynamoDB backend: tables are not deep-copied."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install() -> None:
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    backend_module.copy = _NoTableCopy(Table)  # type: ignore[assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            touched: list[tuple[Any, Any, Any, Any]] = []
            for entry in transact_items:
                op = next(iter(entry.values()))
                table = self.tables.get(op.get("TableName"))
                attrs = op.get("Key") or op.get("Item") or {}
                if table is None or table.hash_key_attr not in attrs:
                    continue
                h = DynamoType(attrs[table.hash_key_attr])
                r = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
                previous = table.items.get(h, {}).get(r) if r is not None else table.items.get(h)
                touched.append((table, h, r, copy.deepcopy(previous)))
            try:
                return original(self, transact_items)
            except Exception:
                for table, h, r, previous in reversed(touched):
                    if r is None:
                        if previous is None:
                            table.items.pop(h, None)
                        else:
                            table.items[h] = previous
                    elif previous is None:
                        table.items.get(h, {}).pop(r, None)
                    else:
                        table.items[h][r] = previous
                raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    # Single conditional writes check and write in two steps too: make each item operation atomic.
    for name in ("put_item", "update_item", "delete_item", "get_item", "batch_write_item", "query"):
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))
    _installed = True


def _serialised(method: Any) -> Any:
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(self, *args, **kwargs)

    run.__name__ = method.__name__
    return run
