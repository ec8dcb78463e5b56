#!/usr/bin/env bash
# End-to-end test of the Lambda in a local AWS emulator (ministack) against the Binance
# simulator. Wired as `make e2e`.
#
#   1. build the Lambda zip for this machine (x86_64) with cargo-lambda, and binance-sim
#   2. start ministack (scripts/ministack.sh) and binance-sim (demo scenario)
#   3. deploy infra/template.yaml (SAM transform) into the emulator's CloudFormation with
#      Architecture=x86_64, ScheduleExpression=rate(1 minute), the code from S3
#   4. invoke in emergency mode, let the schedule invoke it again, and verify with boto3
#      (scripts/e2e_check.py): records in DynamoDB, EMF metrics in the function's log
#      group, the alert delivered through SNS to an SQS queue, a scheduled run with zero
#      corrections, a bad payload answered with errorType PayloadError, and a panic (the
#      test-only "test_panic" payload, accepted only because the function's AWS endpoint
#      is this emulator on 127.0.0.1) answered with errorType Panic, its SyncFailure
#      metric and its failure alert
#   5. the fleet: a second simulator with one key per account, the same template deployed
#      again with Accounts=registry, three accounts and one with a malformed secret added
#      with the CLI, the Step Functions fan-out run, and verified with boto3
#      (scripts/e2e_fleet_check.py): every good account synced, the broken one failed
#      alone, the simulator's own per-IP weight count never above the share
#   6. stop everything it started, by PID (trap EXIT)
#
# Environment: E2E_ZIP=path reuses a prebuilt bootstrap.zip, E2E_SIM_BIN=path a prebuilt
# binance-sim; E2E_KEEP=1 leaves the run
# directory (.run/e2e) for inspection; E2E_TIMEOUT (s) bounds the wait for the schedule.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=$ROOT/.run/e2e
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python
CARGO_LAMBDA=${CARGO_LAMBDA:-$VENV/bin/cargo-lambda}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
rm -rf "$RUN" && mkdir -p "$RUN"

SIM_PID=""
FLEET_SIM_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$SIM_PID" ]]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
  if [[ -n "$FLEET_SIM_PID" ]]; then kill "$FLEET_SIM_PID" 2>/dev/null || true; wait "$FLEET_SIM_PID" 2>/dev/null || true; fi
  MINISTACK_STATE_DIR="$RUN/ministack" scripts/ministack.sh stop >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then
    echo "e2e FAILED (rc=$rc); logs in $RUN" >&2
  elif [[ -z "${E2E_KEEP:-}" ]]; then
    rm -rf "$RUN"
  fi
  exit $rc
}
trap cleanup EXIT

echo "== building the Lambda zip (x86_64, profile lambda-local) and binance-sim"
if [[ -n "${E2E_ZIP:-}" ]]; then
  ZIP=$E2E_ZIP
else
  # cargo-lambda from the venv; its zig toolchain comes with it (python-zig). No arm64
  # locally: the local emulator runs the bootstrap as a host process.
  # Profile lambda-local: release panics and stripping, no optimisation, so CI builds
  # the zip in a few minutes on 2 cores; `make build` makes the optimised arm64 zip.
  PATH="$VENV/bin:$PATH" "$CARGO_LAMBDA" lambda build --profile lambda-local --x86-64 --output-format zip \
    --bin binance-account-sync --lambda-dir "$TARGET/lambda"
  ZIP=$TARGET/lambda/binance-account-sync/bootstrap.zip
fi
[[ -s "$ZIP" ]] || { echo "no Lambda zip at $ZIP" >&2; exit 1; }
if [[ -n "${E2E_SIM_BIN:-}" ]]; then
  SIM_BIN=$E2E_SIM_BIN
else
  cargo build --quiet -p binance-sim
  SIM_BIN=$TARGET/debug/binance-sim
fi

echo "== starting ministack"
MINISTACK_STATE_DIR="$RUN/ministack" \
MINISTACK_SERVICES="s3,dynamodb,lambda,cloudformation,iam,sts,sns,sqs,secretsmanager,scheduler,logs,cloudwatch,events,stepfunctions" \
  scripts/ministack.sh start
AWS_URL=$(cat "$RUN/ministack/url")

echo "== starting binance-sim (demo scenario)"
"$SIM_BIN" --port 0 --strict --scenario "${E2E_SCENARIO:-binance-sim/scenarios/demo.json}" --port-file "$RUN/sim.port" \
  >"$RUN/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do [[ -s "$RUN/sim.port" ]] && break; sleep 0.1; done
[[ -s "$RUN/sim.port" ]] || { echo "binance-sim did not start" >&2; cat "$RUN/sim.log" >&2; exit 1; }
SIM_URL="http://127.0.0.1:$(cat "$RUN/sim.port")"

# A command against the emulator: its endpoint, a region and test credentials, never the
# developer's own AWS profile.
with_emulator() {
  AWS_ENDPOINT_URL=$AWS_URL AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true "$@"
}

echo "== deploying and verifying (scripts/e2e_check.py)"
with_emulator "$PY" scripts/e2e_check.py --zip "$ZIP" --template infra/template.yaml \
    --binance-url "$SIM_URL" --aws-url "$AWS_URL" --run-dir "$RUN" \
    --timeout "${E2E_TIMEOUT:-240}"
echo "== the fleet: a second simulator (one per-IP weight count for every account) with one key per account"
"$PY" - "${E2E_SCENARIO:-binance-sim/scenarios/demo.json}" "$RUN/fleet-scenario.json" <<'PY'
import json, sys
scenario = json.load(open(sys.argv[1]))
template = scenario["api_keys"][0]
scenario["api_keys"] = [dict(template, key=f"{n}-key", secret=f"{n}-secret") for n in ("alpha", "bravo", "charlie", "delta")]
json.dump(scenario, open(sys.argv[2], "w"))
PY
"$SIM_BIN" --port 0 --strict --scenario "$RUN/fleet-scenario.json" --port-file "$RUN/fleet-sim.port" \
  >"$RUN/fleet-sim.log" 2>&1 &
FLEET_SIM_PID=$!
for _ in $(seq 1 100); do [[ -s "$RUN/fleet-sim.port" ]] && break; sleep 0.1; done
[[ -s "$RUN/fleet-sim.port" ]] || { echo "the fleet's binance-sim did not start" >&2; cat "$RUN/fleet-sim.log" >&2; exit 1; }
FLEET_SIM_URL="http://127.0.0.1:$(cat "$RUN/fleet-sim.port")"

echo "== deploying the fleet and verifying (scripts/e2e_fleet_check.py)"
with_emulator "$PY" scripts/e2e_fleet_check.py --zip "$ZIP" --template infra/template.yaml \
    --binance-url "$FLEET_SIM_URL" --aws-url "$AWS_URL" --run-dir "$RUN" \
    --timeout "${E2E_FLEET_TIMEOUT:-300}"
echo "== e2e passed"
