#!/usr/bin/env python3
"""Proves Binance's official Python SDK (binance-sdk-spot) works against
binance-sim unchanged but for its base path.

Usage: binance_sdk_spot_check.py BASE_URL API_KEY API_SECRET_OR_PRIVATE_KEY_PEM
An argument starting with -----BEGIN is an Ed25519 (or RSA) private key in
PEM, given to the SDK as `private_key=` (it signs with pycryptodome);
anything else is an HMAC secret. Expects the demo scenario
(scenarios/demo.json). Exits non-zero on failure.
"""
import sys
from decimal import Decimal

try:
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_spot.spot import Spot
except ImportError as e:  # the Rust test reports this clearly
    print(f"binance-sdk-spot is not importable: {e}", file=sys.stderr)
    sys.exit(3)


def rows(response):
    """The JSON the SDK parsed, as plain dicts (its models are pydantic)."""
    data = response.data()
    if isinstance(data, list):
        return [rows_of(item) for item in data]
    return rows_of(data)


def rows_of(model):
    return model.model_dump(by_alias=True) if hasattr(model, "model_dump") else model


def main():
    base, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
    if secret.startswith("-----BEGIN"):
        config = ConfigurationRestAPI(api_key=key, private_key=secret, base_path=base)
    else:
        config = ConfigurationRestAPI(api_key=key, api_secret=secret, base_path=base)
    # Failures must surface as failures, not as slow retries.
    config.retries = 0
    rest = Spot(config_rest_api=config).rest_api

    account = rows(rest.get_account())
    assert account["accountType"] == "SPOT", account["accountType"]
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    assert Decimal(usdt["locked"]) == Decimal("1550"), usdt

    trades = rows(rest.my_trades(symbol="BTCUSDT"))
    assert len(trades) == 16 and all(t["symbol"] == "BTCUSDT" for t in trades), len(trades)

    orders = rows(rest.all_orders(symbol="ETHUSDT"))
    assert len(orders) >= 2 and all(o["symbol"] == "ETHUSDT" for o in orders), len(orders)

    open_orders = rows(rest.get_open_orders())
    cids = sorted(o["clientOrderId"] for o in open_orders)
    assert len(cids) == 2 and cids[0].startswith("bot-") and cids[1].startswith("web_"), cids

    commission = rows(rest.account_commission(symbol="BTCUSDT"))
    assert commission["standardCommission"]["maker"] == "0.00100000", commission

    print("binance-sdk-spot OK: account, myTrades, allOrders, openOrders, account/commission")


if __name__ == "__main__":
    main()
