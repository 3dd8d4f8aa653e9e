"""Answers to register requests (`pos/v1/{s}/{r}/rpc/req`), each from one read transaction.

Methods and their params (the result is in `RpcResponse.result`):

- `price_cart`: `{"lines": [{"sku", "quantity", "weight"?, "weight_source"?}], "at"}`
  with quantities and weights as decimal strings, `at` the register's local ISO time
  (promotions run by the store's clock). Result: `{"cart": <PricedCart as
  appliance.domain.codec data>, "version": <catalogue version>}`.
- `customer_search`: `{"query", "limit"?}` -> `{"customers": [{"id", "name", "points",
  "lifetime_points"}]}` (id or name containing the query, case-insensitive).
- `balance_check`: `{"kind", "account"}` (kind: store_credit, gift_card, house_account)
  -> `{"kind", "account", "balance", "currency"}`.
- `changes_since`: `{"version"}` -> `{}` when the register is up to date, else
  `{"version", "catalog", "tax", "settings": {"cash_increment", "max_discount_percent"}}`
  with the catalogue and tax in the `parse_store` / `parse_tax` shapes.
- `refresh`: `{}` -> `{"customers": [{"id", "name", "points", "lifetime_points"}],
  "balances": [{"kind", "account", "amount"}]}`: everything of the store, for the
  register to replace its cached copy (`appliance.store.cache.replace_customers`).

An answer larger than the protocol's payload limit (`wire.MAX_PAYLOAD`) goes in parts
(`split_answer`): the first response says how many and the digest of the whole;
the register asks for the others with `{"part": i, "digest": d}` beside its params.

Params that do not fit, an unknown product or account: status "invalid" with a reason
the cashier can read. A store the back office has no catalogue for, or any failure of
the back office itself: "error", after which the register's local answer stands.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from appliance.domain import codec
from appliance.domain.cart import Cart, CartLine, WeightSource
from appliance.domain.codec import decimal_text
from appliance.domain.errors import DomainError
from appliance.domain.pricing import price_cart
from appliance.domain.tender import BALANCE_KINDS
from appliance.sync import wire
from appliance.sync.parts import part_request, part_result, split_answer
from appliance.sync.wire import RpcRequest, RpcResponse, WireError
from backoffice.catalog import RulesCache, read_store
from backoffice.db import Database, DatabaseUnavailable, Tx

log = logging.getLogger(__name__)

MAX_LINES = 500
MAX_RESULTS = 50


class Invalid(Exception):
    """Params the back office cannot use; the text is for the cashier."""


def _only(
    params: dict[str, Any], required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> None:
    unknown = sorted(set(params) - required - optional)
    if unknown:
        raise Invalid(f"{unknown[0][:40]}: unknown parameter")
    missing = sorted(required - set(params))
    if missing:
        raise Invalid(f"{missing[0]}: missing")


def _decimal(value: Any, name: str) -> Decimal:
    if not isinstance(value, str):
        raise Invalid(f"{name}: expected a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{name}: expected a decimal string, got {value[:20]!r}") from None
    if not number.is_finite() or number <= 0:
        raise Invalid(f"{name}: must be a positive number, got {value[:20]!r}")
    return number


def _line(index: int, data: Any) -> CartLine:
    name = f"lines[{index}]"
    if not isinstance(data, dict):
        raise Invalid(f"{name}: expected an object")
    _only(data, {"sku", "quantity"}, {"weight", "weight_source"})
    if not isinstance(data["sku"], str) or not data["sku"]:
        raise Invalid(f"{name}.sku: expected a string")
    quantity = _decimal(data["quantity"], f"{name}.quantity")
    weight = source = None
    if data.get("weight") is not None:
        weight = _decimal(data["weight"], f"{name}.weight")
        try:
            source = WeightSource(data.get("weight_source", "manual"))
        except ValueError:
            allowed = ", ".join(s.value for s in WeightSource)
            raise Invalid(f"{name}.weight_source: expected one of {allowed}") from None
    if (weight is None or source is WeightSource.PRESET) and quantity != quantity.to_integral():
        raise Invalid(f"{name}.quantity: must be a whole number, got {data['quantity']}")
    if source not in (None, WeightSource.PRESET) and quantity != 1:
        raise Invalid(f"{name}.quantity: a weighed line is one pack")
    return CartLine(index + 1, data["sku"], quantity, weight, source)


class Rpc:
    """The request handlers; `answer` is what the MQTT service calls."""

    def __init__(self, db: Database, rules: RulesCache | None = None) -> None:
        self.db = db
        self.rules = rules or RulesCache()

    def answer(self, store: str, payload: bytes, now: datetime, register: str = "") -> RpcResponse:
        """Decode a request and answer it; never raises except DatabaseUnavailable."""
        try:
            request = wire.decode_request(payload)
        except WireError as exc:
            return RpcResponse("invalid", error=str(exc))
        return self.call(store, request, now, register)

    def call(
        self, store: str, request: RpcRequest, now: datetime, register: str = ""
    ) -> RpcResponse:
        """Answer one decoded request for `register` of `store` (in parts when too big)."""
        try:
            params, index, digest = part_request(request.params)
        except WireError as exc:
            return RpcResponse("invalid", error=str(exc))
        response = self._call(store, RpcRequest(request.method, params), now, register)
        if response.status != "ok" or (
            index == 0 and len(wire.encode_response(response)) <= wire.MAX_PAYLOAD
        ):
            return response
        parts = split_answer(response.result)
        if digest is not None and digest != parts[0].digest:
            return RpcResponse("error", error="the answer changed while it was being fetched")
        if index >= len(parts):
            return RpcResponse("invalid", error=f"part: there are only {len(parts)} parts")
        if index == 0:
            log.info("rpc %s for %s: answering in %d parts", request.method, store, len(parts))
        return RpcResponse("ok", part_result(parts[index]))

    def _call(self, store: str, request: RpcRequest, now: datetime, register: str) -> RpcResponse:
        handler = getattr(self, f"_{request.method}", None)
        if handler is None:
            return RpcResponse("invalid", error=f"method: {request.method!r} is not answered here")
        try:
            with self.db.transaction(readonly=True) as tx:
                result = handler(tx, store, request.params, now)
                if request.method == "refresh":  # read in the same snapshot as the balances
                    result["watermark"] = _watermark(tx, store, register)
                return RpcResponse("ok", result)
        except Invalid as exc:
            return RpcResponse("invalid", error=str(exc))
        except DomainError as exc:
            return RpcResponse("invalid", error=str(exc))
        except DatabaseUnavailable as exc:
            log.warning("rpc %s for %s: database unavailable: %s", request.method, store, exc)
            return RpcResponse("error", error="the back office database is unavailable")
        except _StoreUnknown as exc:
            return RpcResponse("error", error=str(exc))
        except Exception:
            log.exception("rpc %s for %s failed", request.method, store)
            return RpcResponse("error", error="the back office failed to answer")

    def _price_cart(self, tx: Tx, store: str, params: dict[str, Any], now: datetime) -> Any:
        _only(params, {"lines", "at"})
        lines = params["lines"]
        if not isinstance(lines, list) or not lines or len(lines) > MAX_LINES:
            raise Invalid(f"lines: expected a list of 1 to {MAX_LINES} lines")
        if not isinstance(params["at"], str):
            raise Invalid("at: expected the register's local ISO 8601 time")
        try:
            at = datetime.fromisoformat(params["at"])
        except ValueError:
            raise Invalid(f"at: expected an ISO 8601 time, got {params['at'][:30]!r}") from None
        cart_lines = tuple(_line(i, data) for i, data in enumerate(lines))
        found = self.rules.get(tx, store)
        if found is None:
            raise _StoreUnknown(f"store {store!r} has no catalogue at the back office")
        row, rules = found
        for line in cart_lines:
            product = rules.catalog.product(line.sku)
            if line.weight_source is WeightSource.PRESET and line.weight not in product.presets:
                raise Invalid(f"{line.sku}: {line.weight} is not one of its presets")
        cart = Cart(cart_lines, next_line_id=len(cart_lines) + 1)
        return {"cart": codec.to_data(price_cart(cart, rules, at)), "version": row.version}

    def _customer_search(self, tx: Tx, store: str, params: dict[str, Any], now: datetime) -> Any:
        _only(params, {"query"}, {"limit"})
        query, limit = params["query"], params.get("limit", 20)
        if not isinstance(query, str) or not query.strip() or len(query) > 100:
            raise Invalid("query: expected 1 to 100 characters")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RESULTS:
            raise Invalid(f"limit: expected a whole number from 1 to {MAX_RESULTS}")
        escaped = (
            query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        pattern = f"%{escaped}%"
        rows = tx.all(
            "SELECT id, name, points, lifetime_points FROM customers WHERE store = ? "
            "AND (LOWER(id) LIKE ? ESCAPE '\\' OR LOWER(name) LIKE ? ESCAPE '\\') "
            "ORDER BY name, id LIMIT ?",
            (store, pattern, pattern, limit),
        )
        return {
            "customers": [
                {"id": r[0], "name": r[1], "points": int(r[2]), "lifetime_points": int(r[3])}
                for r in rows
            ]
        }

    def _balance_check(self, tx: Tx, store: str, params: dict[str, Any], now: datetime) -> Any:
        _only(params, {"kind", "account"})
        kinds = [k.value for k in BALANCE_KINDS]
        kind, account = params["kind"], params["account"]
        if kind not in kinds:
            raise Invalid(f"kind: expected one of {', '.join(kinds)}")
        if not isinstance(account, str) or not account or len(account) > 100:
            raise Invalid("account: expected 1 to 100 characters")
        row = tx.one(
            "SELECT amount FROM balances WHERE store = ? AND kind = ? AND account = ?",
            (store, kind, account),
        )
        if row is None:
            raise Invalid(f"{kind.replace('_', ' ')} {account}: unknown account")
        currency = tx.scalar("SELECT currency FROM stores WHERE store = ?", (store,), "")
        return {"kind": kind, "account": account, "balance": int(row[0]), "currency": currency}

    def _changes_since(self, tx: Tx, store: str, params: dict[str, Any], now: datetime) -> Any:
        _only(params, {"version"})
        version = params["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise Invalid("version: expected a whole number, 0 or more")
        row = read_store(tx, store)
        if row is None:
            raise _StoreUnknown(f"store {store!r} has no catalogue at the back office")
        if row.version <= version:
            return {}
        settings = {
            "cash_increment": row.cash_increment,
            "max_discount_percent": decimal_text(row.max_discount_percent),
        }
        return {
            "version": row.version,
            "catalog": row.catalog,
            "tax": row.tax,
            "settings": settings,
        }

    def _refresh(self, tx: Tx, store: str, params: dict[str, Any], now: datetime) -> Any:
        _only(params, set())
        customers = tx.all("SELECT id, name, points, lifetime_points FROM customers "
                           "WHERE store = ? ORDER BY id", (store,))  # fmt: skip
        balances = tx.all("SELECT kind, account, amount FROM balances WHERE store = ? "
                          "ORDER BY kind, account", (store,))  # fmt: skip
        return {
            "customers": [{"id": r[0], "name": r[1], "points": int(r[2]),
                           "lifetime_points": int(r[3])} for r in customers],
            "balances": [{"kind": k, "account": a, "amount": int(v)} for k, a, v in balances],
        }  # fmt: skip


def _watermark(tx: Tx, store: str, register: str) -> int:
    """How far the register's entries are stored without a gap (0: none yet).

    A refresh is a snapshot of balances; it holds the register's own deductions only up
    to here. With two consumers a sale can be stored and acked by one while the other
    answers from a snapshot taken before it: the register applies a refresh only if this
    reaches its newest entry."""
    found = tx.scalar("SELECT contiguous FROM watermarks WHERE store = ? AND register = ?",
                      (store, register), 0)  # fmt: skip
    return int(found or 0)


class _StoreUnknown(Exception):
    """The back office has nothing for this store: its failure, not the cashier's."""
