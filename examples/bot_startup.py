#!/usr/bin/env python3
"""What the origin document's startup snippet does, with the sync's verdict.

The origin (account-sync-guide.md, "Automatic sync on startup"):

    sync_result = self.account_synchronizer.sync_account_data(force=True)
    if sync_result.success:
        balance_sync = sync_result.data.get('balance_sync', {})
        if balance_sync.get('corrected', False):
            self.current_balance = balance_sync.get('new_balance')

Here: (1) optionally ask for an emergency sync and wait for it (a RequestResponse invoke
of the function, when SYNC_FUNCTION_NAME is set: its response carries the verdicts);
(2) read the account's trust summary and the symbol's verdict from the table; (3) read the
corrected balance of the quote asset, the position and the open orders; (4) trade only if
the symbol is trusted and the account is verified recently. The contract is
docs/bot-contract.md. Prints one JSON document; exit 0 when the bot may trade, 3 when it
must not (yet), 1 on an error.

    SYNC_TABLE_NAME=... SYNC_ACCOUNT_ID=... python examples/bot_startup.py --symbol BTCUSDT

boto3 reads DynamoDB numbers as decimal.Decimal: money stays exact.
"""

import argparse
import json
import os
import sys
import time
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Key


def as_text(value):
    """Decimals as exact text, everything else as JSON knows it."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value != 0 else "0"
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    return value


def session():
    """boto3 reads AWS_DEFAULT_REGION; AWS_REGION (set on Lambda, ECS) is honoured too."""
    return boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)


def request_sync(function_name, symbol):
    """Ask for an emergency sync and wait for its report (RequestResponse)."""
    client = session().client("lambda")
    resp = client.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps({"mode": "emergency"}).encode(),
    )
    report = json.loads(resp["Payload"].read())
    if resp.get("FunctionError"):
        # {"errorType": ..., "errorMessage": ...}: the run failed; the verdicts say
        # run_failed and the bot must not trade on its records.
        return {"error": report}
    verdicts = (report.get("trust") or {}).get("verdicts", [])
    mine = next((v for v in verdicts if v["symbol"] == symbol), None)
    return {"outcome": report.get("outcome"), "verdict": mine}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    parser.add_argument("--quote", default="USDT", help="the asset the bot trades with")
    parser.add_argument(
        "--max-age-minutes",
        type=int,
        default=90,
        help="how old the account's verification may be (two schedule periods and slack)",
    )
    args = parser.parse_args()

    table = session().resource("dynamodb").Table(os.environ["SYNC_TABLE_NAME"])
    pk = "ACCOUNT#" + os.environ["SYNC_ACCOUNT_ID"]
    out = {"symbol": args.symbol}

    function = os.environ.get("SYNC_FUNCTION_NAME")
    if function:
        out["sync"] = request_sync(function, args.symbol)

    def get(sk):
        return table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")

    account = get("TRUST#ACCOUNT")
    verdict = get("TRUST#VERDICT#" + args.symbol)
    balance = get("BALANCE#" + args.quote)
    position = get("POSITION#" + args.symbol)
    orders = table.query(
        KeyConditionExpression=Key("pk").eq(pk) & Key("sk").begins_with("ORDER#" + args.symbol + "#"),
        ConsistentRead=True,
    )["Items"]
    open_orders = [
        o for o in orders if o["status"] in ("NEW", "PARTIALLY_FILLED", "PENDING_NEW", "UNKNOWN")
    ]

    now_ms = int(time.time() * 1000)
    reasons = []
    if verdict is None:
        reasons.append("no verdict yet: the sync has not judged this symbol")
    elif verdict["trust"] != "trusted":
        reasons.extend(r["code"] + ": " + r["detail"] for r in verdict.get("reasons", []))
    if account is None or account.get("verified_through") is None:
        reasons.append("the account was never verified")
    else:
        age_min = (now_ms - int(account["updated_at"])) / 60000
        if age_min > args.max_age_minutes:
            reasons.append("the last verdict is %.0f minutes old" % age_min)

    # The origin's "if balance corrected: use the new balance": the table holds the
    # corrected balance; updated_by says whether the sync corrected it.
    if balance is not None:
        out["current_balance"] = as_text(balance["free"])
        out["balance_corrected_by_sync"] = balance.get("updated_by") == "sync"
    out["position"] = (
        None
        if position is None
        else as_text({k: position[k] for k in ("status", "quantity", "entry_price", "version")})
    )
    out["open_orders"] = [as_text({"order_id": o["order_id"], "status": o["status"]}) for o in open_orders]
    out["trust"] = None if verdict is None else verdict["trust"]
    out["verified_through"] = None if account is None else as_text(account.get("verified_through"))
    out["reasons"] = reasons
    out["may_trade"] = not reasons
    print(json.dumps(out, indent=2, sort_keys=True))
    return 0 if out["may_trade"] else 3


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # the bot must not trade on an error either
        print(json.dumps({"error": type(e).__name__, "message": str(e)}))
        sys.exit(1)
