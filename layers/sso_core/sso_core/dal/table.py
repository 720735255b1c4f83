"""One DynamoDB table for everything, reached through a cached low-level client.

The low-level client is thread-safe (the scheduled DNS check writes from a thread pool), so every
access goes through it with explicit (de)serialisation instead of the resource API.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from sso_core.aws_clients import aws_client

# A transaction item with its name: ("audit", {"Put": {...}}). See ``Table.transact``.
TxItem = tuple[str, dict[str, Any]]

DUE_INDEX = "due-checks"
TENANT_INDEX = "by-tenant"
DUE_PARTITION = "due"

# A list read for one page: (position after which to read or None, how many) -> ([(sort key, row)], more after?)
T = TypeVar("T")
PageRead = Callable[[str | None, int], tuple[list[tuple[str, T]], bool]]
# Reads one page of a filtered list may make before it hands back a short page with its cursor.
MAX_PAGE_READS = 5

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dynamodb_client() -> Any:
    """Cached client; 64 connections for the scheduled run's thread pool."""
    return aws_client("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB", max_pool_connections=64)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def serialize_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class TransactionCancelled(Exception):
    """A transaction that did not commit, with its items' reasons by name (never by position).

    ``failed``: the names of the items whose condition failed; ``conflict``: another transaction touched one of
    the items at the same moment (re-read and retry).
    """

    def __init__(self, failed: frozenset[str], conflict: bool) -> None:
        super().__init__(f"transaction cancelled: failed={sorted(failed)} conflict={conflict}")
        self.failed = failed
        self.conflict = conflict

    def failed_on(self, *names: str) -> bool:
        return any(name in self.failed for name in names)


class InvalidCursor(ValueError):
    """The cursor is not a ``next_cursor`` this list gave."""


def encode_cursor(sort_key: str) -> str:
    """An opaque, URL-safe cursor for a page that ended at ``sort_key``."""
    return base64.urlsafe_b64encode(sort_key.encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, sk_prefix: str) -> str:
    try:
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor() from None
    if not sort_key.startswith(sk_prefix) or len(sort_key) > 600:
        raise InvalidCursor()
    return sort_key


def collect_page(
    read: PageRead[T], sk_prefix: str, limit: int, cursor: str | None, keep: Callable[[T], bool] | None = None
) -> tuple[list[T], str | None]:
    """One page of a keyset-paginated list: up to ``limit`` rows that ``keep`` accepts, and the cursor after the last
    one handed back (None at the end of the list).

    The cursor is the sort key of the last row handed back, so a page that stops inside a read resumes right after
    it. A filter that rejects many rows makes at most ``MAX_PAGE_READS`` reads; the page is then shorter than
    ``limit`` and still carries its cursor (clients follow ``next_cursor`` until it is absent).
    """
    position = decode_cursor(cursor, sk_prefix) if cursor else None
    rows_out: list[T] = []
    for _ in range(MAX_PAGE_READS):
        # One row more than the page needs: a page that ends exactly at the end of the list then says so (a read that
        # stops at its Limit always has a LastEvaluatedKey, even with nothing after it).
        rows, more = read(position, limit - len(rows_out) + 1)
        for index, (sort_key, row) in enumerate(rows):
            position = sort_key
            if keep is None or keep(row):
                rows_out.append(row)
            if len(rows_out) == limit:
                rest = index < len(rows) - 1 or more
                return rows_out, encode_cursor(sort_key) if rest else None
        if not more:
            return rows_out, None
    return rows_out, encode_cursor(position) if position is not None else None


class Table:
    """Thin wrapper: the table name plus the client, with the few calls the DAL modules need."""

    def __init__(self, name: str, client: Any | None = None) -> None:
        self.name = name
        self.client = client or dynamodb_client()

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        resp = self.client.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=consistent)
        item = resp.get("Item")
        return deserialize(item) if item else None

    def query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a query, page after page."""
        params = {"TableName": self.name, **kwargs}
        while True:
            resp = self.client.query(**params)
            for item in resp.get("Items", []):
                yield deserialize(item)
            last = resp.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def query_page(self, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        resp = self.client.query(TableName=self.name, **kwargs)
        return [deserialize(i) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")

    def newest_first(
        self, pk: str, sk_prefix: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the items under ``pk`` whose sort key starts with ``sk_prefix``, newest (highest) first,
        and the cursor of the next page (``InvalidCursor`` for a cursor this list did not give)."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": serialize({":p": pk, ":s": sk_prefix}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            params["ExclusiveStartKey"] = key(pk, decode_cursor(cursor, sk_prefix))
        items, last = self.query_page(**params)
        return items, (encode_cursor(str(last["sk"]["S"])) if last else None)

    def sorted_keys(
        self,
        partition: tuple[str, str],
        sort: tuple[str, str],
        position: str | None,
        limit: int,
        *,
        forward: bool = True,
        index: str | None = None,
        start_key: Callable[[str], tuple[str, str]] | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """One read of the items whose ``partition`` (name, value) matches and whose sort attribute (name, prefix)
        begins with the prefix, after the sort key ``position``; and whether more may follow.

        On an index, ``start_key`` maps a sort key back to the item's table key (an index's start key needs both).
        """
        (p_name, p_value), (s_name, s_prefix) = partition, sort
        params: dict[str, Any] = {
            "KeyConditionExpression": "#p = :p AND begins_with(#s, :s)",
            "ExpressionAttributeNames": {"#p": p_name, "#s": s_name},
            "ExpressionAttributeValues": serialize({":p": p_value, ":s": s_prefix}),
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        if index:
            params["IndexName"] = index
        else:
            params["ConsistentRead"] = True
        if position is not None:
            if index:
                assert start_key is not None
                pk, sk = start_key(position)
                params["ExclusiveStartKey"] = {**key(pk, sk), p_name: {"S": p_value}, s_name: {"S": position}}
            else:
                params["ExclusiveStartKey"] = key(p_value, position)
        items, last = self.query_page(**params)
        return items, last is not None

    def batch_get(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Consistent reads of many items (100 per request, unprocessed keys retried), in no particular order."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self.name: {"Keys": [key(pk, sk) for pk, sk in keys[start : start + 100]], "ConsistentRead": True}
            }
            while pending:
                resp = self.client.batch_get_item(RequestItems=pending)
                found.extend(deserialize(i) for i in resp.get("Responses", {}).get(self.name, []))
                pending = resp.get("UnprocessedKeys") or {}
        return found

    def transact(self, named: Sequence[TxItem]) -> None:
        """One transaction of named items (``(name, op)``); ``TransactionCancelled`` names the items that failed.

        A name says what its item guards ("invitation", "pending_pointer", "audit", ...); several items may share
        one. Callers decide by name, so adding or reordering items can never change what a failure means.
        """
        items = []
        for _name, entry in named:
            for body in entry.values():
                body.setdefault("TableName", self.name)
            items.append(entry)
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
            failed = frozenset(
                name for (name, _), code in zip(named, codes, strict=False) if code == "ConditionalCheckFailed"
            )
            raise TransactionCancelled(failed, "TransactionConflict" in codes) from exc
