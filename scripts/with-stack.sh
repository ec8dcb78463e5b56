#!/usr/bin/env bash
# Run a command with a private AWS emulator (ministack) on 127.0.0.1: start it on a free
# port, export the AWS_* variables that point every SDK client at it, run the command,
# and stop the emulator by its PID whatever happens.
#   scripts/with-stack.sh cargo test --workspace --tests
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MINISTACK_STATE_DIR="$ROOT/.run/ministack-$$"
export MINISTACK_SERVICES="${MINISTACK_SERVICES:-dynamodb,secretsmanager,sns,sqs}"
trap '"$ROOT/scripts/ministack.sh" stop >/dev/null 2>&1 || true; rm -rf "$MINISTACK_STATE_DIR"' EXIT
"$ROOT/scripts/ministack.sh" start
eval "$("$ROOT/scripts/ministack.sh" env)"
"$@"
