#!/usr/bin/env python3
"""The fleet end to end: infra/template.yaml deployed into ministack with
Accounts=registry, three accounts on one simulator (one more whose secret is malformed),
the Step Functions fan-out run, and checked:

- every good account synced (its Map item's outcome "complete", its sync state's
  last_success_at set);
- the account with the malformed secret failed alone (caught by the Map, errorType
  ExchangeConfigError, the others unaffected);
- the simulator's own per-IP count (max_minute_weight) never above the configured share,
  while the three runs together spent more than one minute's share.

Called by scripts/e2e.sh after scripts/e2e_check.py, with AWS_ENDPOINT_URL pointing at the
emulator. The accounts are added with the CLI (the bootstrap binary of the zip, which is
the CLI outside Lambda). The fan-out is started with StartExecution: the emulator's
scheduler is not relied on to start state machines (the schedule -> state machine wiring is
checked by cfn-lint and review).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_check import check, create_stack, run, step, template_from_bucket, upload_zip  # noqa: E402

STACK = "bas-e2e-fleet"
SHARE = 400
GOOD = ["alpha", "bravo", "charlie"]
BROKEN = "delta"


def deploy(args, cfn, s3):
    bucket = "bas-e2e-fleet-artifacts"
    upload_zip(s3, bucket, args.zip)
    template = template_from_bucket(args.template, bucket)
    params = {
        "Accounts": "registry",
        # The fan-out is started by hand below; a daily schedule never fires during the test.
        "ScheduleExpression": "rate(1 day)",
        "SchedulePeriodSeconds": "86400",
        "ScheduleMinutes": "1440",
        "MinIntervalSeconds": "0",
        "WeightShare": str(SHARE),
        "FleetMaxConcurrency": "3",
        "FleetSecretPrefix": "binance/",
        "Architecture": "x86_64",
        "LocalEndpointUrl": args.aws_url,
        "LocalBinanceBaseUrl": args.binance_url,
    }
    outputs = create_stack(cfn, STACK, template, params, timeout_s=180)
    check({"FunctionName", "TableName", "FleetStateMachineArn"} <= outputs.keys(),
          f"fleet stack created, outputs {sorted(outputs)}")
    return outputs


def cli(bootstrap, table, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNC_", "BINANCE_"))}
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    env["SYNC_TABLE_NAME"] = table
    out = subprocess.run([bootstrap, *args], env=env, capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


def counters(sim_url):
    with urllib.request.urlopen(f"{sim_url}/__sim/counters", timeout=10) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--binance-url", required=True, help="a simulator with keys <name>-key/<name>-secret")
    ap.add_argument("--aws-url", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()

    session = boto3.session.Session()
    cfn, s3, sm = session.client("cloudformation"), session.client("s3"), session.client("secretsmanager")
    sfn = session.client("stepfunctions")
    ddb = session.resource("dynamodb")

    step("deploying infra/template.yaml with Accounts=registry (the fleet)")
    out = deploy(args, cfn, s3)
    table, machine = out["TableName"], out["FleetStateMachineArn"]

    with zipfile.ZipFile(args.zip) as z:
        z.extract("bootstrap", args.run_dir)
    bootstrap = os.path.join(args.run_dir, "bootstrap")
    os.chmod(bootstrap, 0o755)

    step("three accounts and one with a malformed secret, added with the CLI")
    for name in GOOD + [BROKEN]:
        secret = f"binance/e2e-fleet-{name}"
        value = ("this is not JSON" if name == BROKEN
                 else json.dumps({"api_key": f"{name}-key", "api_secret": f"{name}-secret"}))
        sm.create_secret(Name=secret, SecretString=value)
        rc, so, se = cli(bootstrap, table, "accounts", "add", name, "--secret", secret, "--json")
        check(rc == 0, f"accounts add {name} (exit {rc} {se.strip()[:200]})")
    rc, so, se = cli(bootstrap, table, "accounts", "list", "--json")
    listing = json.loads(so)
    check(rc == 0 and [a["account"] for a in listing["accounts"]] == sorted(GOOD + [BROKEN]),
          f"accounts list: {[a['account'] for a in listing['accounts']]}")
    before = counters(args.binance_url)["max_minute_weight"]
    check(before == 0, f"the fleet's simulator is untouched before the fan-out ({before})")

    step(f"the fan-out: {machine.split(':')[-1]} (list_accounts, then the Map, MaxConcurrency 3)")
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    end = time.time() + args.timeout
    while True:
        desc = sfn.describe_execution(executionArn=execution)
        if desc["status"] != "RUNNING":
            break
        if time.time() > end:
            raise SystemExit(f"execution still RUNNING after {args.timeout} s")
        time.sleep(2)
    with open(f"{args.run_dir}/fleet-execution.json", "w") as f:
        json.dump(desc, f, indent=2, default=str)
    check(desc["status"] == "SUCCEEDED", f"execution {desc['status']} {str(desc.get('cause') or '')[:300]}")
    results = {r.get("account"): r for r in json.loads(desc["output"])}
    for name in GOOD:
        r = results.get(name, {})
        check(r.get("outcome") == "complete", f"{name} synced: {str(r)[:200]}")
    bad = results.get(BROKEN, {})
    cause = json.loads(bad.get("error", {}).get("Cause") or "{}") if isinstance(bad.get("error"), dict) else {}
    check("error" in bad and cause.get("errorType") == "ExchangeConfigError",
          f"{BROKEN} failed alone: {str(bad)[:300]}")
    check("this is not JSON" not in json.dumps(bad), "the malformed secret is not echoed")

    step("each account's sync state")
    t = ddb.Table(table)
    for name in GOOD:
        state = t.get_item(Key={"pk": f"ACCOUNT#{name}", "sk": "SYNC#STATE"}, ConsistentRead=True).get("Item", {})
        check(state.get("last_success_at") is not None, f"{name}: last_success_at {state.get('last_success_at')}")
    state = t.get_item(Key={"pk": f"ACCOUNT#{BROKEN}", "sk": "SYNC#STATE"}, ConsistentRead=True).get("Item", {})
    check(state.get("last_success_at") is None, f"{BROKEN}: never succeeded ({state.get('last_error')})")

    step("the shared weight, by the simulator's own per-IP count")
    c = counters(args.binance_url)
    spent = sum(v.get("weight", 0) for p, v in c.get("by_path", {}).items() if p.startswith("/api/"))
    check(c["max_minute_weight"] <= SHARE, f"max weight in one minute {c['max_minute_weight']} <= share {SHARE}")
    check(spent > SHARE, f"the accounts together spent {spent} > {SHARE}: the share had to hold some back")
    print("e2e fleet checks passed")


if __name__ == "__main__":
    run(main)
