#!/usr/bin/env python3
"""Writes the seed corpus: fuzz/corpus/<target>/seed-*.

Sources: the shared Binance fixtures (../shared/binance next to the checkout, or
$SHARED_BINANCE), the recorded ccxt responses, the invoke-payload fixtures
(tests/fixtures/events), and hand-made edge cases (empty, huge numbers, negative, deeply
nested, wrong types, truncated). Store items (store_*) are not written here: they are
DynamoDB wire-form JSON of items made by the store's own encoder (see fuzz/README.md).

Only seed-* files are rewritten; what the fuzzer added and the regression inputs in
fuzz/artifacts/ are left alone. Run from anywhere: python3 fuzz/seed_corpus.py
"""
import json
import os
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
SHARED = pathlib.Path(os.environ.get("SHARED_BINANCE", ROOT.parent / "shared" / "binance"))
CORPUS = FUZZ / "corpus"

RAW = "\u0000raw:"  # a string value that is replaced by raw JSON text (numbers JSON can't hold)


def raw(text):
    return RAW + text


def dump(value):
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    # json.dumps escapes the NUL; put the raw text back without quotes.
    while '"\\u0000raw:' in text:
        start = text.index('"\\u0000raw:')
        end = text.index('"', start + 1)
        text = text[:start] + text[start + len('"\\u0000raw:'):end] + text[end + 1:]
    return text.encode()


def shared(name):
    return json.loads((SHARED / name).read_text())


def ccxt(method):
    cases = shared("ccxt-static/response-spot.json")["methods"][method]
    return cases[0]["httpResponse"]


def with_field(doc, path, value):
    """A copy of doc with doc[path...] = value (path of keys/indices; None value removes)."""
    doc = json.loads(json.dumps(doc))
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return doc


HUGE = [
    raw("1e400"),
    "1e400",
    raw("99999999999999999999999999999999"),
    "99999999999999999999999999999999",
    raw("-1"),
    "-0.00000000000000000000000000001",
    raw("18446744073709551616"),
    raw("1.5"),
    True,
    [],
]

GENERIC = {
    "empty": b"",
    "null": b"null",
    "object": b"{}",
    "array": b"[]",
    "string": b'"x"',
    "number": b"0",
    "nested-arrays": b"[" * 200 + b"]" * 200,
    "nested-objects": b'{"a":' * 150 + b"1" + b"}" * 150,
    "not-json": b"<html>502 Bad Gateway</html>",
    "bom": b"\xef\xbb\xbf{}",
}


def variants(base, fields):
    """base itself, truncated, and base with each field set to each value."""
    out = {"fixture": dump(base)}
    text = dump(base)
    out["truncated"] = text[: len(text) // 2]
    for name, path, values in fields:
        for i, v in enumerate(values):
            out[f"{name}-{i}"] = dump(with_field(base, path, v))
    return out


def write(target, seeds):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for name, data in {**GENERIC, **seeds}.items():
        (folder / f"seed-{name}").write_bytes(data)


def binance():
    account = shared("account.json")
    write("binance_account", {
        **variants(account, [
            ("free", ["balances", 0, "free"], HUGE),
            ("update-time", ["updateTime"], [raw("1e400"), "abc", raw("-1"), raw("9223372036854775808")]),
            ("asset", ["balances", 0, "asset"], ["", "A B", "A#B", "X" * 300, 7]),
            ("balances", ["balances"], [None, {}, [1]]),
        ]),
        # Decimal::MAX as free: the largest balance whose total still fits.
        "max-free-plus-locked": dump(with_field(with_field(account, ["balances", 0, "free"], "79228162514264337593543950335"), ["balances", 0, "locked"], "0")),
        "ccxt": dump(ccxt("fetchBalance")),
    })

    order = shared("order.json")
    order_fields = [
        ("order-id", ["orderId"], [raw("-1"), raw("18446744073709551616"), "1e3", raw("1.5"), " 7 "]),
        ("price", ["price"], HUGE),
        ("executed", ["executedQty"], ["0.0000000000000000000000000001", "-1"]),
        ("side", ["side"], ["buy", None, 1]),
        ("status", ["status"], ["SOMETHING_NEW", 5]),
        ("time", ["time"], ["2019-01-01 00:00:00", raw("-1"), raw("1e400")]),
    ]
    write("binance_order", {**variants(order, order_fields), "ccxt": dump(ccxt("fetchOrder"))})

    lists = {}
    for name in ["openOrders.json", "allOrders.json"]:
        lists[name.split(".")[0]] = dump(shared(name))
    lists["ccxt-open"] = dump(ccxt("fetchOpenOrders"))
    lists["ccxt-all"] = dump(ccxt("fetchOrders"))
    lists.update(variants(shared("openOrders.json"), [
        ("quote", [0, "cummulativeQuoteQty"], HUGE),
        ("symbol", [0, "symbol"], ["", "AB#C", "Ä" * 21, None]),
    ]))
    write("binance_order_list", lists)

    write("binance_my_trades", {
        **variants(shared("myTrades.json"), [
            ("id", [0, "id"], [raw("-1"), raw("18446744073709551616"), "x"]),
            ("commission", [0, "commission"], HUGE),
            ("is-buyer", [0, "isBuyer"], ["true", 1, None]),
            ("commission-asset", [0, "commissionAsset"], ["", "\u0000"]),
        ]),
        "ccxt": dump(ccxt("fetchMyTrades")),
    })

    write("binance_exchange_info", variants(shared("exchangeInfo-excerpt.json"), [
        ("base-precision", ["symbols", 0, "baseAssetPrecision"], [raw("-1"), raw("4294967296"), "8"]),
        ("quote-precision", ["symbols", 0, "quoteAssetPrecision"], [None, raw("1e400")]),
        ("filters", ["symbols", 0, "filters"], [[{"filterType": "LOT_SIZE", "minQty": raw("1e400"), "stepSize": "-1"}], [{}], None]),
        ("symbols", ["symbols"], [None, [{}], {}]),
    ]))

    # The documented example of GET /api/v3/ticker/price?symbols=[...].
    ticker = [{"symbol": "LTCBTC", "price": "4.00000200"}, {"symbol": "ETHBTC", "price": "0.07946600"}]
    write("binance_ticker_price", variants(ticker, [
        ("price", [0, "price"], HUGE),
        ("symbol", [0, "symbol"], ["", "A B", None]),
    ]))

    # The documented example of GET /api/v3/klines.
    kline = [[1499040000000, "0.01634790", "0.80000000", "0.01575800", "0.01577100",
              "148976.11427815", 1499644799999, "2434.19055334", 308, "1756.87402397",
              "28.46694368", "0"]]
    write("binance_klines", {
        **variants(kline, [
            ("open-time", [0, 0], [raw("1e400"), "x", raw("1.5"), raw("-1"), raw("18446744073709551616")]),
            ("close", [0, 4], HUGE),
        ]),
        "short-row": b"[[1499040000000]]",
        "empty-row": b"[[]]",
        "object-row": b'[{"a":1}]',
    })

    deposit = shared("deposit-hisrec.json")
    write("binance_deposits", variants(deposit, [
        ("amount", [0, "amount"], HUGE),
        ("insert-time", [0, "insertTime"], ["2019-10-12 11:12:02", "1661493146000", "2019-13-01 00:00:00", raw("-1"), raw("1e400")]),
        ("id", [0, "id"], [raw("769800519366885376"), raw("-5"), None]),
        ("status", [0, "status"], ["1", raw("1.0"), None]),
    ]))

    withdrawal = shared("withdraw-history.json")
    write("binance_withdrawals", variants(withdrawal, [
        ("amount", [0, "amount"], HUGE),
        ("fee", [0, "transactionFee"], [None, raw("1e400"), "-1"]),
        ("apply-time", [0, "applyTime"], ["2019-10-12T11:12:02.5Z", "2019-02-30 00:00:00", "0-01-01 00:00:00", "2019-10-12", "1570878722000", raw("1570878722000"), "1970-01-01 00:00:60"]),
    ]))

    # The documented example of GET /sapi/v1/account/apiRestrictions.
    restrictions = {"ipRestrict": False, "createTime": 1698645219000, "enableReading": True,
                    "enableWithdrawals": False, "enableInternalTransfer": True,
                    "enableMargin": False, "enableFutures": False,
                    "permitsUniversalTransfer": True, "enableVanillaOptions": False,
                    "enableFixApiTrade": False, "enableFixReadOnly": True,
                    "enableSpotAndMarginTrading": False, "enablePortfolioMarginTrading": True}
    write("binance_api_restrictions", variants(restrictions, [
        ("ip-restrict", ["ipRestrict"], ["false", 1, None]),
        ("withdrawals", ["enableWithdrawals"], [raw("1e400"), []]),
    ]))

    write("binance_server_time", variants(shared("time.json"), [
        ("server-time", ["serverTime"], ["1499827319559", raw("1e400"), raw("-1"), raw("9223372036854775808"), raw("1.5"), None]),
    ]))

    errors = shared("error-examples.json")
    seeds = {}
    for i, b in enumerate(errors["verbatim_error_bodies"]):
        seeds[f"verbatim-{i}"] = dump(b["body"])
    seeds.update(variants({"code": -1121, "msg": "Invalid symbol."}, [
        ("code", ["code"], ["-1121", "abc", raw("1e400"), raw("9223372036854775808"), raw("-1.5"), None]),
        ("msg", ["msg"], [5, None, "x" * 5000]),
    ]))
    write("binance_error", seeds)


def payload():
    seeds = {}
    events = ROOT / "tests" / "fixtures" / "events"
    for f in sorted(events.glob("*.json")):
        seeds[f.stem] = f.read_bytes()
    seeds.update(variants({"mode": "emergency", "dry_run": False, "lookback_days": 30}, [
        ("lookback", ["lookback_days"], [raw("1e400"), raw("99999999999999999999999999999999"), raw("-1"), raw("365.0"), raw("366"), raw("4294967297"), "30"]),
        ("mode", ["mode"], ["PERIODIC", "", raw("1"), None]),
        ("dry-run", ["dry_run"], ["false", raw("0")]),
    ]))
    seeds["envelope-wrong-types"] = b'{"source":1,"detail-type":[]}'
    seeds["envelope-minimal"] = b'{"source":"aws.events","detail-type":"Scheduled Event"}'
    write("payload", seeds)


def secret():
    base = {"api_key": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
            "api_secret": "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"}
    seeds = variants(base, [
        ("key", ["api_key"], ["", "   ", None, raw("1e400"), raw("99999999999999999999999999999999"), [], {}]),
        ("secret", ["api_secret"], ["", None, raw("-1"), True]),
        ("extra", ["extra"], ["x"]),
    ])
    seeds["quoted-json-string"] = dump(json.dumps(base))
    seeds["unicode"] = dump({"api_key": "ключ", "api_secret": "секрет\u2028"})
    # The private_key shape: an Ed25519 PKCS#8 v1 PEM of the all-zero seed (a public,
    # worthless key), then the ways it can be wrong.
    pem = ("-----BEGIN PRIVATE KEY-----\n"
           "MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
           "-----END PRIVATE KEY-----\n")
    key = base["api_key"]
    seeds["private-key-ed25519"] = dump({"api_key": key, "private_key": pem})
    seeds["private-key-and-secret"] = dump(dict(base, private_key=pem))
    seeds["private-key-encrypted"] = dump({"api_key": key, "private_key": pem.replace("PRIVATE", "ENCRYPTED PRIVATE")})
    seeds["private-key-public"] = dump({"api_key": key, "private_key": pem.replace("PRIVATE", "PUBLIC")})
    seeds["private-key-no-pem"] = dump({"api_key": key, "private_key": pem.splitlines()[1]})
    seeds["private-key-damaged"] = dump({"api_key": key, "private_key": pem.replace("MC4C", "M!4C")})
    write("secret", seeds)


if __name__ == "__main__":
    binance()
    payload()
    secret()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(list(d.glob('seed-*')))} seeds")
