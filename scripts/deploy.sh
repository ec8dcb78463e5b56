#!/usr/bin/env bash
# make deploy: deploy the stack to a real AWS account with the AWS SAM CLI, one
# environment of samconfig.toml at a time.
#
#   DEPLOY_ENV=prod BINANCE_SECRET_ARN=arn:... make deploy
#
# DEPLOY_ENV picks the section [<env>.deploy.parameters] of samconfig.toml (default:
# "default"): stack name, region, capabilities and the template's parameters. The
# environment overrides it: BINANCE_SECRET_ARN (required unless the section has
# BinanceSecretArn), SYNC_ACCOUNT_ID, ALERT_EMAIL, SCHEDULE (its period follows),
# TOLERANCE_PCT, STACK_NAME, AWS_REGION. Choose a region Binance serves: from a restricted
# location every run fails with ExchangeRestrictedLocation (HTTP 451, docs/runbook.md).
#
# DEPLOY_DRY_RUN=1 prints the `sam deploy` command and stops: no zip, no SAM CLI, no AWS
# needed. Otherwise needs AWS credentials for the target account and the arm64 zip from
# `make build`. Never set LocalEndpointUrl / LocalBinanceBaseUrl: emulator only.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPLOY_ENV="${DEPLOY_ENV:-default}"
SAMCONFIG="${SAMCONFIG:-samconfig.toml}"
PYTHON="${PYTHON:-python3}"
[[ -x .venv/bin/python ]] && PYTHON=.venv/bin/python

ZIP=target/lambda/binance-account-sync/bootstrap.zip
OUT=.run/deploy
TEMPLATE="$OUT/template.yaml"

# The arguments, checked (exit 2 naming the problem), NUL-separated.
ARGS=()
while IFS= read -r -d '' arg; do ARGS+=("$arg"); done \
  < <("$PYTHON" scripts/deploy_args.py "$SAMCONFIG" "$DEPLOY_ENV" "$TEMPLATE" || echo -n "__failed__")
if [[ ${#ARGS[@]} -eq 0 || "${ARGS[-1]}" == "__failed__" ]]; then
  exit 2
fi

if [[ "${DEPLOY_DRY_RUN:-}" == "1" ]]; then
  printf 'sam'; printf ' %q' "${ARGS[@]}"; printf '\n'
  exit 0
fi

[[ -s "$ZIP" ]] || { echo "no $ZIP: run make build first" >&2; exit 1; }
[[ -x .venv/bin/sam ]] || .venv/bin/pip install --quiet 'aws-sam-cli>=1.130'
mkdir -p "$OUT"
# The template's CodeUri is the crate (for `sam build`); deploy the zip cargo-lambda built.
sed "s|      CodeUri: \.\.$|      CodeUri: $PWD/$ZIP|" infra/template.yaml >"$TEMPLATE"
exec .venv/bin/sam "${ARGS[@]}"
