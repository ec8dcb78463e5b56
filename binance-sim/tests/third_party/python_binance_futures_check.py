#!/usr/bin/env python3
"""Proves python-binance reads the USD-M futures account of binance-sim
unchanged but for its URL.

Usage: python_binance_futures_check.py BASE_URL API_KEY API_SECRET
Expects scenarios/futures.json after the Rust test's control actions (see
ccxt_futures_check.py). Exits non-zero on failure.
"""
import sys
from decimal import Decimal

try:
    from binance.client import Client
except ImportError as e:  # the Rust test reports this clearly
    print(f"python-binance is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def main():
    base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
    client = Client(key, secret, ping=False)
    client.API_URL = base + "/api"
    client.MARGIN_API_URL = base + "/sapi"
    client.FUTURES_URL = base + "/fapi"

    assert isinstance(client.futures_time()["serverTime"], int)
    assert client.futures_get_position_mode() == {"dualSidePosition": False}

    acct = client.futures_account()  # /fapi/v2/account
    assert Decimal(acct["totalWalletBalance"]) == Decimal("999.63"), acct
    balances = client.futures_account_balance()  # /fapi/v3/balance
    assert [(b["asset"], Decimal(b["balance"])) for b in balances] == [("USDT", Decimal("999.63"))]

    positions = client.futures_position_information()  # /fapi/v3/positionRisk
    amounts = sorted((p["symbol"], p["positionSide"], p["positionAmt"]) for p in positions)
    assert amounts == [("BTCUSDT", "BOTH", "-0.010"), ("ETHUSDT", "BOTH", "-0.100")], amounts

    trades = client.futures_account_trades(symbol="BTCUSDT")
    assert [(t["side"], t["qty"], t["realizedPnl"]) for t in trades] == [("SELL", "0.010", "0.00000000")]

    funding = client.futures_income_history(incomeType="FUNDING_FEE")
    assert [(i["symbol"], i["income"]) for i in funding] == [("ETHUSDT", "0.03000000")], funding

    print("python-binance futures OK: futures_time, futures_get_position_mode, futures_account, "
          "futures_account_balance, futures_position_information, futures_account_trades, "
          "futures_income_history")


if __name__ == "__main__":
    main()
