#!/usr/bin/env python3
"""Generates demo.json and demo-dust.json (deterministic; run from anywhere).

The account starts (before the history window) with START balances; every
fill, the deposit, the withdrawal and the open orders' locks are applied to
them, so the scenario's balances are exactly consistent with its history.
All times are relative to the server's "now" at load ("-4d3h12m5s").
"""
import json
import random
from decimal import Decimal as D, ROUND_HALF_UP, ROUND_FLOOR
from pathlib import Path

random.seed(20260501)
HERE = Path(__file__).resolve().parent
Q8 = D("0.00000001")
RATE = D("0.001")
BNB_DISCOUNT = D("0.25")
BNB_PRICE = D("650.00")

SYMBOLS = {
    "BTCUSDT": dict(base="BTC", price=D("96500.00"), step=D("0.00001"), tick=D("0.01"), qty=(D("0.002"), D("0.03")), start_px=D("94000")),
    "ETHUSDT": dict(base="ETH", price=D("3350.00"), step=D("0.0001"), tick=D("0.01"), qty=(D("0.05"), D("0.8")), start_px=D("3200")),
    "SOLUSDT": dict(base="SOL", price=D("185.00"), step=D("0.001"), tick=D("0.01"), qty=(D("1"), D("12")), start_px=D("176")),
}
START = {"USDT": D("15000"), "BNB": D("1.5"), "BTC": D("0.05"), "ETH": D("1.2"), "SOL": D("20")}
ORDER_BASE = {"BTCUSDT": 28457000000, "ETHUSDT": 19283000000, "SOLUSDT": 9731000000}
TRADE_BASE = {"BTCUSDT": 3491000000, "ETHUSDT": 1838000000, "SOLUSDT": 902000000}


def rel(ms):
    """-ms → "-1d2h3m4s5ms" (relative to load time)."""
    neg = ms < 0
    ms = abs(ms)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        n, ms = divmod(ms, size)
        if n:
            parts.append(f"{n}{unit}")
    return ("-" if neg else "+") + ("".join(parts) or "0ms")


def qround(x, step):
    return (x / step).to_integral_value(rounding=ROUND_FLOOR) * step


def build(dust=False):
    random.seed(20260501)
    bal = dict(START)
    orders, trades = [], []
    next_order = dict(ORDER_BASE)
    next_trade = dict(TRADE_BASE)
    px = {s: c["start_px"] for s, c in SYMBOLS.items()}
    # 60 fills over the last 5 days, 1-3 fills per order.
    t = -5 * 86_400_000 + 3_600_000
    n_fills = 0
    while n_fills < 60:
        sym = random.choice(["BTCUSDT", "ETHUSDT", "ETHUSDT", "SOLUSDT", "SOLUSDT", "BTCUSDT"])
        c = SYMBOLS[sym]
        base = c["base"]
        px[sym] = (px[sym] * (D(1) + D(random.uniform(-0.012, 0.014)).quantize(D("0.0001")))).quantize(c["tick"])
        side = random.choice(["BUY", "SELL"])
        lo, hi = c["qty"]
        qty = qround(lo + (hi - lo) * D(random.random()).quantize(D("0.0001")), c["step"])
        if side == "SELL" and bal[base] < qty:
            side = "BUY"
        if side == "BUY" and bal["USDT"] < qty * px[sym] * D("1.01"):
            side = "SELL"
            qty = qround(bal[base] / 2, c["step"])
        n_parts = random.choice([1, 1, 1, 2, 3])
        n_parts = min(n_parts, 60 - n_fills)
        is_maker = n_parts > 1 or random.random() < 0.4
        order_type = "LIMIT" if is_maker else "MARKET"
        oid = next_order[sym]
        next_order[sym] += random.randint(3, 40)
        bot = random.random() < 0.7
        cid = f"bot-{sym.lower()}-{oid % 100000:05d}" if bot else f"web_{random.getrandbits(64):016x}"
        order_time = t
        parts = []
        left = qty
        for i in range(n_parts):
            part = left if i == n_parts - 1 else qround(qty / n_parts, c["step"])
            left -= part
            parts.append(part)
        cum = D(0)
        last_time = t
        for i, part in enumerate(parts):
            ft = order_time + i * random.randint(2_000, 600_000)
            last_time = ft
            price = px[sym]
            quote = (price * part).quantize(Q8)
            in_bnb = random.random() < 0.55 and bal["BNB"] > D("0.05")
            if in_bnb:
                comm = (quote * RATE * (1 - BNB_DISCOUNT) / BNB_PRICE).quantize(Q8, ROUND_HALF_UP)
                casset = "BNB"
            elif side == "BUY":
                comm = (part * RATE).quantize(Q8, ROUND_HALF_UP)
                casset = base
            else:
                comm = (quote * RATE).quantize(Q8, ROUND_HALF_UP)
                casset = "USDT"
            if side == "BUY":
                bal["USDT"] -= quote
                bal[base] += part
            else:
                bal[base] -= part
                bal["USDT"] += quote
            bal[casset] -= comm
            cum += quote
            trades.append({
                "symbol": sym, "id": next_trade[sym], "orderId": oid,
                "price": str(price), "qty": str(part), "quoteQty": str(quote),
                "commission": str(comm), "commissionAsset": casset,
                "time": rel(ft), "isBuyer": side == "BUY", "isMaker": is_maker,
            })
            next_trade[sym] += random.randint(1, 5000)
            n_fills += 1
        orders.append({
            "symbol": sym, "orderId": oid, "clientOrderId": cid, "side": side,
            "type": order_type, "timeInForce": "GTC",
            "price": str(px[sym]) if order_type == "LIMIT" else "0",
            "origQty": str(qty), "executedQty": str(qty), "cummulativeQuoteQty": str(cum),
            "status": "FILLED", "time": rel(order_time), "updateTime": rel(last_time),
        })
        t += random.randint(1_200_000, 9_000_000)
        if t > -3_600_000:
            t = -3_600_000
    # A recent canceled bot order (no fill) and an archived one (> 90 days).
    orders.append({"symbol": "BTCUSDT", "orderId": next_order["BTCUSDT"], "clientOrderId": "bot-btcusdt-cxl01", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "90000.00", "origQty": "0.01000", "status": "CANCELED", "time": "-2d5h", "updateTime": "-2d1h"})
    orders.append({"symbol": "BTCUSDT", "orderId": ORDER_BASE["BTCUSDT"] - 5000, "clientOrderId": "bot-btcusdt-old01", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "60000.00", "origQty": "0.01000", "status": "CANCELED", "time": "-120d", "updateTime": "-119d"})
    # Deposit and withdrawal within the last week.
    bal["USDT"] += D("5000")
    bal["USDT"] -= D("1000") + D("1")
    # Open orders: a bot LIMIT BUY on ETHUSDT, a manual LIMIT SELL on SOLUSDT.
    eth_oid = next_order["ETHUSDT"] + 11
    sol_oid = next_order["SOLUSDT"] + 7
    eth_lock = (D("3100.00") * D("0.5000")).quantize(Q8)
    bal["USDT"] -= eth_lock
    orders.append({"symbol": "ETHUSDT", "orderId": eth_oid, "clientOrderId": "bot-ethusdt-dca-0042", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "3100.00", "origQty": "0.5000", "status": "NEW", "time": "-3h"})
    sol_qty = D("5.000")
    if dust:
        # Sell everything sellable: what is left is below the 0.001 step.
        sellable = qround(bal["SOL"], SYMBOLS["SOLUSDT"]["step"])
        sell_all = sellable
        quote = (SYMBOLS["SOLUSDT"]["price"] * sell_all).quantize(Q8)
        comm = (quote * RATE).quantize(Q8, ROUND_HALF_UP)
        oid = next_order["SOLUSDT"] + 3
        trades.append({"symbol": "SOLUSDT", "id": next_trade["SOLUSDT"], "orderId": oid, "price": str(SYMBOLS["SOLUSDT"]["price"]), "qty": str(sell_all), "quoteQty": str(quote), "commission": str(comm), "commissionAsset": "USDT", "time": "-30m", "isBuyer": False, "isMaker": False})
        orders.append({"symbol": "SOLUSDT", "orderId": oid, "clientOrderId": "web_dustsell0001", "side": "SELL", "type": "MARKET", "timeInForce": "GTC", "price": "0", "origQty": str(sell_all), "executedQty": str(sell_all), "cummulativeQuoteQty": str(quote), "status": "FILLED", "time": "-30m", "updateTime": "-30m"})
        bal["SOL"] -= sell_all
        bal["USDT"] += quote - comm
    else:
        bal["SOL"] -= sol_qty
        orders.append({"symbol": "SOLUSDT", "orderId": sol_oid, "clientOrderId": "web_6f1c2a9e4b7d", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "price": "210.00", "origQty": str(sol_qty), "status": "NEW", "time": "-1d2h"})
    assert all(v >= 0 for v in bal.values()), bal

    def filt(c, min_notional):
        return {
            "PRICE_FILTER": {"minPrice": str(c["tick"]), "maxPrice": "1000000.00", "tickSize": str(c["tick"])},
            "LOT_SIZE": {"minQty": str(c["step"]), "maxQty": "9000", "stepSize": str(c["step"])},
            "NOTIONAL": {"minNotional": min_notional, "applyMinToMarket": True, "maxNotional": "9000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        }

    symbols = [
        {"symbol": s, "base": c["base"], "quote": "USDT", "price": str(c["price"]), "filters": filt(c, "5")}
        for s, c in SYMBOLS.items()
    ]
    # A BNBUSDT price from before the first fill: the klines then price every BNB fee at
    # its fill's minute (the sync never values a fee at today's price).
    symbols.insert(2, {"symbol": "BNBUSDT", "base": "BNB", "quote": "USDT", "price": str(BNB_PRICE),
                       "price_history": [{"time": "-6d", "price": str(BNB_PRICE)}],
                       "filters": filt({"tick": D("0.01"), "step": D("0.001")}, "5")})
    orders.sort(key=lambda o: o["orderId"])
    return {
        "description": ("Demo account: 60 historical fills over ~5 days on BTCUSDT/ETHUSDT/SOLUSDT, fees in BNB (25% discount), "
                        "an open bot LIMIT BUY on ETHUSDT, an open manual LIMIT SELL on SOLUSDT, a USDT deposit and withdrawal. "
                        "Generated by gen_demo.py." + (" Variant: SOL sold down to dust." if dust else "")),
        "account": {"uid": 354937868},
        "api_keys": [{"key": "demo-key", "secret": "demo-secret", "restrictions": {
            "ipRestrict": False, "enableReading": True, "enableWithdrawals": True,
            "enableSpotAndMarginTrading": True, "createTime": "-200d"}}],
        "fees": {"maker": "0.001", "taker": "0.001", "pay_fees_in_bnb": True, "bnb_discount": "0.25"},
        "symbols": symbols,
        "balances": [{"asset": a, "free": str(v.normalize() if v != 0 else D(0))} for a, v in bal.items()],
        "orders": orders,
        "trades": sorted(trades, key=lambda x: (x["symbol"], x["id"])),
        "deposits": [{"id": "769800519366885376", "coin": "USDT", "amount": "5000", "network": "ETH", "status": 1,
                      "txId": "0x5d7e0a3c1b9f48e2a6c4d1f0b8e7a9c3d2f1e0b9a8c7d6e5f4a3b2c1d0e9f8a7", "insertTime": "-6d2h"}],
        "withdrawals": [{"id": "b6ae22b3aa844210a7041aee7589627c", "coin": "USDT", "amount": "1000", "transactionFee": "1",
                         "network": "ETH", "status": 6, "withdrawOrderId": "WITHDRAWdemo0001", "applyTime": "-1d6h"}],
    }


for name, dust in (("demo.json", False), ("demo-dust.json", True)):
    (HERE / name).write_text(json.dumps(build(dust), indent=1) + "\n")
    print("wrote", HERE / name)
