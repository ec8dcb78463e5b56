#!/usr/bin/env python3
"""Proves python-binance works against binance-sim unchanged but for its URL.

Usage: python_binance_check.py BASE_URL API_KEY API_SECRET_OR_PRIVATE_KEY_PEM
An argument starting with -----BEGIN is an Ed25519 or RSA private key (PEM),
given to python-binance as `private_key=`; anything else is an HMAC secret.
Expects the demo scenario (scenarios/demo.json). Exits non-zero on failure.
"""
import sys
import time

try:
    from binance.client import Client
except ImportError as e:  # the Rust test reports this clearly
    print(f"python-binance is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def main():
    base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
    # ping=False: the constructor would otherwise ping api.binance.com before
    # we can point it at the simulator. Nothing else is changed.
    if secret.startswith("-----BEGIN"):
        client = Client(key, private_key=secret, ping=False)
    else:
        client = Client(key, secret, ping=False)
    client.API_URL = base + "/api"
    client.MARGIN_API_URL = base + "/sapi"

    assert client.ping() == {}, "ping"
    st = client.get_server_time()["serverTime"]
    assert isinstance(st, int) and abs(st - time.time() * 1000) < 120_000, st

    acct = client.get_account()
    assets = {b["asset"]: b for b in acct["balances"]}
    assert acct["accountType"] == "SPOT"
    assert "USDT" in assets and assets["USDT"]["locked"] == "1550.00000000", assets.get("USDT")

    open_orders = client.get_open_orders()
    cids = sorted(o["clientOrderId"] for o in open_orders)
    assert len(cids) == 2 and cids[0].startswith("bot-") and cids[1].startswith("web_"), cids

    all_eth = client.get_all_orders(symbol="ETHUSDT")
    assert len(all_eth) >= 2 and all(o["symbol"] == "ETHUSDT" for o in all_eth), len(all_eth)

    trades = client.get_my_trades(symbol="BTCUSDT")
    assert len(trades) == 16 and all(t["symbol"] == "BTCUSDT" for t in trades), len(trades)

    usdt_before = float(assets["USDT"]["free"])
    order = client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    assert order["status"] == "FILLED", order
    assert order["clientOrderId"].startswith("x-HNA2TXFJ"), order["clientOrderId"]
    assert len(order["fills"]) == 1 and order["fills"][0]["commissionAsset"] == "BNB", order["fills"]

    got = client.get_order(symbol="BTCUSDT", orderId=order["orderId"])
    assert got["status"] == "FILLED" and got["executedQty"] == "0.00100000", got
    after = {b["asset"]: b for b in client.get_account()["balances"]}
    assert abs(usdt_before - float(after["USDT"]["free"]) - 96.5) < 1e-9, after["USDT"]

    deposits = client.get_deposit_history()
    assert len(deposits) == 1 and deposits[0]["coin"] == "USDT", deposits
    withdrawals = client.get_withdraw_history()
    assert len(withdrawals) == 1 and withdrawals[0]["coin"] == "USDT", withdrawals

    print("python-binance OK: ping, time, account, openOrders, allOrders, myTrades, "
          "order (MARKET), order query, deposit and withdraw history")


if __name__ == "__main__":
    main()
