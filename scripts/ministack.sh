#!/usr/bin/env bash
# Start/stop a local MiniStack (AWS emulator) for the store integration tests.
#
#   scripts/ministack.sh start   # bind 127.0.0.1 on a free port, wait until it answers
#   scripts/ministack.sh env     # print the exports the integration tests need
#   scripts/ministack.sh stop    # kill the server started by `start` (by its PID)
#
# State lives in $MINISTACK_STATE_DIR (default: /tmp/binance-account-sync-ministack):
#   pid  the server's PID      url  its endpoint URL      log  its output
# MINISTACK_BIN overrides the executable (default: the repository's .venv/bin/ministack,
# then `ministack` on PATH).
set -euo pipefail

STATE_DIR="${MINISTACK_STATE_DIR:-/tmp/binance-account-sync-ministack}"
PID_FILE="$STATE_DIR/pid"
URL_FILE="$STATE_DIR/url"
LOG_FILE="$STATE_DIR/log"

find_bin() {
  if [[ -n "${MINISTACK_BIN:-}" ]]; then echo "$MINISTACK_BIN"; return; fi
  local venv; venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/ministack"
  if [[ -x "$venv" ]]; then echo "$venv"; return; fi
  command -v ministack || { echo "ministack not found (set MINISTACK_BIN)" >&2; exit 1; }
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
    echo "ministack already running (PID $(cat "$PID_FILE")) at $(cat "$URL_FILE")"
    return 0
  fi
  mkdir -p "$STATE_DIR"
  local bin port url pid
  bin="$(find_bin)"
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  # Foreground mode in our own background job: we own the PID, no shared /tmp pid file games.
  BIND_HOST=127.0.0.1 GATEWAY_PORT="$port" SERVICES="${MINISTACK_SERVICES:-dynamodb}" \
    nohup "$bin" >"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$url" >"$URL_FILE"
  # Wait (bounded) until the health endpoint answers.
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "ministack exited during start; log:" >&2; cat "$LOG_FILE" >&2
      rm -f "$PID_FILE" "$URL_FILE"; exit 1
    fi
    if curl -fsS "$url/_ministack/health" >/dev/null 2>&1; then
      echo "ministack running (PID $pid) at $url"
      return 0
    fi
    sleep 0.2
  done
  echo "ministack did not answer at $url within 20s; log:" >&2; cat "$LOG_FILE" >&2
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE" "$URL_FILE"; exit 1
}

stop() {
  if [[ ! -f "$PID_FILE" ]]; then echo "ministack not running (no $PID_FILE)"; return 0; fi
  local pid; pid="$(cat "$PID_FILE")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "ministack (PID $pid) stopped"
  else
    echo "ministack (PID $pid) was not running"
  fi
  rm -f "$PID_FILE" "$URL_FILE"
}

print_env() {
  [[ -f "$URL_FILE" ]] || { echo "ministack not started: run scripts/ministack.sh start" >&2; exit 1; }
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
