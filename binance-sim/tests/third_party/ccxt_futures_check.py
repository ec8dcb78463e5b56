#!/usr/bin/env python3
"""Proves ccxt reads the USD-M futures account of binance-sim with its
default options (defaultType "future"), unchanged but for its URLs.

Usage: ccxt_futures_check.py BASE_URL API_KEY API_SECRET
Expects scenarios/futures.json after the Rust test's control actions: a
BTCUSDT short of 0.010 at 50000 and an ETHUSDT short of 0.100 at 3000 that
received one funding payment of 0.03 USDT. Exits non-zero on failure.
"""
import sys
from decimal import Decimal

try:
    import ccxt
except ImportError as e:  # the Rust test reports this clearly
    print(f"ccxt is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def sim_urls(exchange, base):
    api = {}
    for name, url in exchange.urls["api"].items():
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        api[name] = base + path
    return api


def main():
    base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
    exchange = ccxt.binance(
        {"apiKey": key, "secret": secret, "options": {"defaultType": "future"}}
    )
    exchange.urls["api"] = sim_urls(exchange, base)

    markets = exchange.load_markets()
    btc = markets["BTC/USDT:USDT"]
    assert btc["swap"] and btc["linear"] and btc["settle"] == "USDT", btc
    assert btc["precision"]["amount"] == 0.001, btc["precision"]
    assert btc["limits"]["cost"]["min"] == 5, btc["limits"]

    positions = exchange.fetch_positions(["BTC/USDT:USDT", "ETH/USDT:USDT"])
    sides = sorted((p["symbol"], p["side"], p["contracts"]) for p in positions)
    assert sides == [("BTC/USDT:USDT", "short", 0.01), ("ETH/USDT:USDT", "short", 0.1)], sides
    assert all(p["hedged"] is False for p in positions), positions

    balance = exchange.fetch_balance()
    total = Decimal(str(balance["USDT"]["total"]))
    # 1000 − 0.25 − 0.15 commissions + 0.03 funding
    assert total == Decimal("999.63"), balance["USDT"]

    trades = exchange.fetch_my_trades("BTC/USDT:USDT")
    assert [(t["side"], t["amount"], t["price"]) for t in trades] == [("sell", 0.01, 50000.0)], trades
    assert Decimal(str(trades[0]["fee"]["cost"])) == Decimal("0.25"), trades[0]["fee"]

    funding = exchange.fetch_funding_history("ETH/USDT:USDT")
    assert [Decimal(str(f["amount"])) for f in funding] == [Decimal("0.03")], funding

    orders = exchange.fetch_orders("BTC/USDT:USDT")
    assert [(o["status"], o["side"]) for o in orders] == [("closed", "sell")], orders

    print("ccxt futures OK: load_markets (USD-M), fetch_positions, fetch_balance, "
          "fetch_my_trades, fetch_funding_history, fetch_orders")


if __name__ == "__main__":
    main()
