#!/usr/bin/env bash
# Run a command with a private AWS emulator on 127.0.0.1: start it on a free port, export
# the AWS_* variables that point every SDK client at it, run the command, and stop the
# emulator by its PID whatever happens.
#   scripts/with-stack.sh cargo test --workspace --tests            # ministack (default)
#   STACK_EMULATOR=moto scripts/with-stack.sh cargo test --test store_dynamo
# ministack emulates everything the e2e test needs (Lambda, CloudFormation, ...); moto is
# the second emulator of the DynamoDB and Secrets Manager tests (scripts/moto.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${STACK_EMULATOR:-ministack}" in
  ministack)
    ctl="$ROOT/scripts/ministack.sh"
    export MINISTACK_STATE_DIR="$ROOT/.run/ministack-$$"
    export MINISTACK_SERVICES="${MINISTACK_SERVICES:-dynamodb,secretsmanager,sns,sqs}"
    state="$MINISTACK_STATE_DIR"
    ;;
  moto)
    ctl="$ROOT/scripts/moto.sh"
    export MOTO_STATE_DIR="$ROOT/.run/moto-$$"
    state="$MOTO_STATE_DIR"
    ;;
  *) echo "STACK_EMULATOR must be ministack or moto, not ${STACK_EMULATOR}" >&2; exit 2 ;;
esac
trap '"$ctl" stop >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
"$ctl" start
eval "$("$ctl" env)"
"$@"
