#!/usr/bin/env python3
"""Proves ccxt works against binance-sim with its default options, unchanged
but for its URLs.

Usage: ccxt_check.py BASE_URL API_KEY API_SECRET_OR_PRIVATE_KEY_PEM
A secret containing PRIVATE KEY is an Ed25519 (or RSA) private key in PEM,
which ccxt takes as `secret` and signs with itself. Expects the demo scenario
(scenarios/demo.json). Exits non-zero on failure.
"""
import sys
from decimal import Decimal

try:
    import ccxt
except ImportError as e:  # the Rust test reports this clearly
    print(f"ccxt is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def sim_urls(exchange, base):
    """Every API host ccxt knows, pointed at the simulator: each `urls['api']`
    entry is a host plus a path prefix (`https://api.binance.com/api/v3`,
    `https://fapi.binance.com/fapi/v1`, ...); keep the path, swap the host."""
    api = {}
    for name, url in exchange.urls["api"].items():
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        api[name] = base + path
    return api


def main():
    base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
    exchange = ccxt.binance({"apiKey": key, "secret": secret})
    exchange.urls["api"] = sim_urls(exchange, base)

    markets = exchange.load_markets()
    for s in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT"):
        assert s in markets and markets[s]["spot"], s
    assert markets["BTC/USDT"]["precision"]["amount"] == 0.00001, markets["BTC/USDT"]["precision"]
    assert not any(m["swap"] or m["future"] for m in markets.values()), "futures markets"
    assert "USDT" in exchange.currencies, list(exchange.currencies)[:5]

    balance = exchange.fetch_balance()
    assert Decimal(str(balance["USDT"]["used"])) == Decimal("1550"), balance["USDT"]
    assert Decimal(str(balance["SOL"]["used"])) == Decimal("5"), balance["SOL"]

    trades = exchange.fetch_my_trades("BTC/USDT")
    assert len(trades) == 16 and all(t["symbol"] == "BTC/USDT" for t in trades), len(trades)
    open_eth = exchange.fetch_open_orders("ETH/USDT")
    assert [o["clientOrderId"] for o in open_eth] == ["bot-ethusdt-dca-0042"], open_eth
    orders = exchange.fetch_orders("ETH/USDT")
    assert len(orders) >= 2 and all(o["symbol"] == "ETH/USDT" for o in orders), len(orders)

    deposits = exchange.fetch_deposits()
    assert len(deposits) == 1 and deposits[0]["currency"] == "USDT", deposits
    withdrawals = exchange.fetch_withdrawals()
    assert len(withdrawals) == 1 and withdrawals[0]["currency"] == "USDT", withdrawals

    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 90000)
    assert order["status"] == "open" and order["clientOrderId"].startswith("x-"), order
    listed = exchange.fetch_open_orders("BTC/USDT")
    assert [o["id"] for o in listed] == [order["id"]], listed
    canceled = exchange.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled", canceled
    assert exchange.fetch_open_orders("BTC/USDT") == []

    print("ccxt OK: load_markets (spot, USD-M, COIN-M, margin pairs, currencies), "
          "fetch_balance, fetch_my_trades, fetch_open_orders, fetch_orders, "
          "fetch_deposits, fetch_withdrawals, create_order (limit), cancel_order")


if __name__ == "__main__":
    main()
