#!/usr/bin/env bash
# make deploy: deploy the stack to a real AWS account with the AWS SAM CLI.
#
# Needs: AWS credentials for the target account in the environment (any method the AWS
# CLI accepts), the arm64 zip from `make build`, and these variables:
#   SYNC_ACCOUNT_ID      the bot's account name (the table partition), e.g. main
#   BINANCE_SECRET_ARN   ARN of the Secrets Manager secret {"api_key": ..., "api_secret": ...}
# Optional: STACK_NAME (binance-account-sync), ALERT_EMAIL, SCHEDULE ("rate(30 minutes)"),
#   TOLERANCE_PCT (1), AWS_REGION.
# Never set LocalEndpointUrl / LocalBinanceBaseUrl here: they exist for the emulator only.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SYNC_ACCOUNT_ID:?set SYNC_ACCOUNT_ID (the bot account name)}"
: "${BINANCE_SECRET_ARN:?set BINANCE_SECRET_ARN (the Secrets Manager secret holding the API key)}"
ZIP=target/lambda/binance-account-sync/bootstrap.zip
[[ -s "$ZIP" ]] || { echo "no $ZIP: run make build first" >&2; exit 1; }
[[ -x .venv/bin/sam ]] || .venv/bin/pip install --quiet 'aws-sam-cli>=1.130'

OUT=.run/deploy && mkdir -p "$OUT"
# The template's CodeUri is the crate (for `sam build`); deploy the zip cargo-lambda built.
sed "s|      CodeUri: \.\.$|      CodeUri: $PWD/$ZIP|" infra/template.yaml >"$OUT/template.yaml"

.venv/bin/sam deploy \
  --template-file "$OUT/template.yaml" \
  --stack-name "${STACK_NAME:-binance-account-sync}" \
  --resolve-s3 \
  --capabilities CAPABILITY_IAM \
  --no-fail-on-empty-changeset \
  --parameter-overrides \
    "AccountId=$SYNC_ACCOUNT_ID" \
    "BinanceSecretArn=$BINANCE_SECRET_ARN" \
    "AlertEmail=${ALERT_EMAIL:-}" \
    "ScheduleExpression=${SCHEDULE:-rate(30 minutes)}" \
    "TolerancePct=${TOLERANCE_PCT:-1}" \
    "Architecture=arm64"
