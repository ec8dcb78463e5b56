#!/usr/bin/env bash
# Start/stop a local moto server (the second AWS emulator) for the integration tests
# that talk to DynamoDB and Secrets Manager: the same tests as against ministack, so a
# behaviour that only one emulator has shows up as a difference between the two.
#
#   scripts/moto.sh start   # bind 127.0.0.1 on a free port, wait until it answers
#   scripts/moto.sh env     # print the exports the integration tests need
#   scripts/moto.sh stop    # kill the server started by `start` (by its PID)
#
# State lives in $MOTO_STATE_DIR (default: /tmp/binance-account-sync-moto):
#   pid  the server's PID      url  its endpoint URL      log  its output
# MOTO_BIN overrides the executable (default: the repository's .venv/bin/moto_server,
# then `moto_server` on PATH).
set -euo pipefail

STATE_DIR="${MOTO_STATE_DIR:-/tmp/binance-account-sync-moto}"
PID_FILE="$STATE_DIR/pid"
URL_FILE="$STATE_DIR/url"
LOG_FILE="$STATE_DIR/log"

find_bin() {
  if [[ -n "${MOTO_BIN:-}" ]]; then echo "$MOTO_BIN"; return; fi
  local venv; venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/moto_server"
  if [[ -x "$venv" ]]; then echo "$venv"; return; fi
  command -v moto_server || { echo "moto_server not found (set MOTO_BIN)" >&2; exit 1; }
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

running() {
  [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

start() {
  if running; then
    echo "moto already running (PID $(cat "$PID_FILE")) at $(cat "$URL_FILE")"
    return 0
  fi
  mkdir -p "$STATE_DIR"
  local bin port url pid
  bin="$(find_bin)"
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  # Foreground server in our own background job: we own the PID.
  nohup "$bin" --host 127.0.0.1 --port "$port" >"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$url" >"$URL_FILE"
  # Wait (bounded) until the server answers its own API.
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "moto exited during start; log:" >&2; cat "$LOG_FILE" >&2
      rm -f "$PID_FILE" "$URL_FILE"; exit 1
    fi
    if curl -fsS "$url/moto-api/data.json" >/dev/null 2>&1; then
      echo "moto running (PID $pid) at $url"
      return 0
    fi
    sleep 0.2
  done
  echo "moto did not answer at $url within 20s; log:" >&2; cat "$LOG_FILE" >&2
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE" "$URL_FILE"; exit 1
}

stop() {
  if [[ ! -f "$PID_FILE" ]]; then echo "moto not running (no $PID_FILE)"; return 0; fi
  local pid; pid="$(cat "$PID_FILE")"
  if kill "$pid" 2>/dev/null; then
    # A server holding gigabytes of tables takes seconds to exit; then it is killed.
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    echo "moto (PID $pid) stopped"
  else
    echo "moto (PID $pid) was not running"
  fi
  rm -f "$PID_FILE" "$URL_FILE"
}

print_env() {
  [[ -f "$URL_FILE" ]] || { echo "moto not started: run scripts/moto.sh start" >&2; exit 1; }
  cat <<ENV
export AWS_ENDPOINT_URL=$(cat "$URL_FILE")
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true
ENV
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  url) cat "$URL_FILE" ;;
  *) echo "usage: $0 start|stop|env|url" >&2; exit 2 ;;
esac
