#!/usr/bin/env bash
# make demo: start the local stack (AWS emulator + Binance simulator), seed the bot's
# records so they diverge from the exchange, run a sync and print its report, run it
# again to show zero corrections, then stop everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=$ROOT/.run/demo
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug
rm -rf "$RUN" && mkdir -p "$RUN"

echo "== building (first time: a few minutes)"
cargo build --quiet --workspace --bins --examples

SIM_PID=""
export MINISTACK_STATE_DIR="$RUN/ministack" MINISTACK_SERVICES=dynamodb
cleanup() {
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
  scripts/ministack.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== starting the AWS emulator (ministack) on 127.0.0.1"
scripts/ministack.sh start
eval "$(scripts/ministack.sh env)"

echo "== starting the Binance simulator with the demo scenario"
"$BIN"/binance-sim --port 0 --strict --scenario binance-sim/scenarios/demo.json \
  --port-file "$RUN/sim.port" >"$RUN/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do [ -s "$RUN/sim.port" ] && break; sleep 0.1; done
[ -s "$RUN/sim.port" ] || { echo "binance-sim did not start"; cat "$RUN/sim.log"; exit 1; }
export BINANCE_BASE_URL="http://127.0.0.1:$(cat "$RUN/sim.port")"
export BINANCE_API_KEY=demo-key BINANCE_API_SECRET=demo-secret
export SYNC_ACCOUNT_ID=demo SYNC_TABLE_NAME=bot-records-demo SYNC_MIN_INTERVAL_SECONDS=0
export RUST_LOG=${RUST_LOG:-warn}

echo "== creating the table from infra/table.json and seeding the bot's (diverged) records"
"$BIN"/examples/local_stack create-table
"$BIN"/examples/local_stack seed demo/bot-records.json

SIM="$BINANCE_BASE_URL/__sim"
post() { curl -fsS -X POST "$SIM/$1" -H 'content-type: application/json' -d "$2" >/dev/null; }
# BTCUSDT under a Smart Order Routing configuration, as on Binance (exchangeInfo.sors):
# its SOR fills are allocations, which myTrades never lists.
post sors '[{"base_asset":"BTC","symbols":["BTCUSDT"]}]'
echo
echo "== while the bot is down, the owner acts on Binance by hand:"
echo "   the bot's ETH order fills, BTC is sold by hand, SOL's price moves"
curl -fsS -X POST "$SIM/orders/fill" -H 'content-type: application/json' \
  -d '{"symbol":"ETHUSDT","orderId":19283000192}' >/dev/null
curl -fsS -X POST "$SIM/trades" -H 'content-type: application/json' \
  -d '{"symbol":"BTCUSDT","side":"SELL","quantity":"0.02042"}' >/dev/null
curl -fsS -X POST "$SIM/prices" -H 'content-type: application/json' \
  -d '{"symbol":"SOLUSDT","price":"187.40"}' >/dev/null

echo
echo "== first sync (emergency: every symbol, 30-day lookback)"
"$BIN"/binance-account-sync sync --emergency
echo
echo "== second sync (periodic): the records now agree, nothing to correct"
"$BIN"/binance-account-sync sync
echo
echo "== then the owner moves money without trading (none of it is a fill):"
echo "   a Convert of 200 USDT to ETH, the BTC dust left to BNB, a deposit to the Funding"
echo "   wallet, a withdrawal still in flight, 100 USDT moved to Funding, 1,000 USDT"
echo "   subscribed to Simple Earn and a reward paid into it, 250 USDT sent in by the"
echo "   master account and 50 USDT sent back to it; and 0.001 BTC bought through Smart"
echo "   Order Routing (filled by an SOR allocation, which myTrades never lists)"
post converts '{"fromAsset":"USDT","fromAmount":"200","toAsset":"ETH","toAmount":"0.06"}'
post dust '{"assets":["BTC"]}'
post deposits '{"asset":"USDT","amount":"500","wallet":"funding"}'
post withdrawals '{"asset":"USDT","amount":"300","fee":"1"}'
post transfers '{"type":"MAIN_FUNDING","asset":"USDT","amount":"100"}'
post earn/subscribe '{"asset":"USDT","amount":"1000"}'
post earn/rewards '{"asset":"USDT","rewards":"0.0123","type":"REALTIME"}'
post sub-account/transfers '{"direction":"in","asset":"USDT","amount":"250"}'
post sub-account/transfers '{"direction":"out","asset":"USDT","amount":"50"}'
post trades '{"symbol":"BTCUSDT","side":"BUY","quantity":"0.001","sor":true}'
# Past the simulator's history lag (strict: a fill shows in its history 3 s after it).
post clock '{"advance_ms": 5000}'
echo
echo "== third sync (periodic): each balance move explained by its flow, nothing unexplained"
"$BIN"/binance-account-sync sync
echo
echo "== the owner buys 0.5 ETH by hand for the long term; then the sync is set to count"
echo "   only the bot's fills as positions (SYNC_POSITIONS=bot: orders with the bot- prefix)"
post trades '{"symbol":"ETHUSDT","side":"BUY","quantity":"0.5"}'
# Past the simulator's history lag (strict: a fill shows in myTrades 3 s after it).
post clock '{"advance_ms": 5000}'
echo
echo "== fourth sync (emergency, SYNC_POSITIONS=bot): each basis is rebuilt from the bot's"
echo "   fills, each position is what the bot bought at its own price, the owner's part of"
echo "   every holding is reported apart, and the balances stay explained"
SYNC_POSITIONS=bot "$BIN"/binance-account-sync sync --emergency
echo
echo "== status"
"$BIN"/binance-account-sync status
