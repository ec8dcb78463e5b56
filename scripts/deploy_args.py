#!/usr/bin/env python3
"""The `sam deploy` arguments of one environment of samconfig.toml (scripts/deploy.sh).

Reads [<env>.deploy.parameters], lets the environment variables override it
(SYNC_ACCOUNT_ID, BINANCE_SECRET_ARN, ALERT_EMAIL, SCHEDULE, TOLERANCE_PCT, STACK_NAME,
AWS_REGION), checks what CloudFormation would only find out later (a secret ARN, the
three schedule parameters agreeing, no emulator-only parameter) and prints the arguments
NUL-separated. Exit 2 with a message naming the problem.

    deploy_args.py <samconfig.toml> <env> <template.yaml>
"""
import os
import re
import shlex
import sys
import tomllib

# Parameters that exist for the local emulator only.
LOCAL_ONLY = ("LocalEndpointUrl", "LocalBinanceBaseUrl")
ENV_OVERRIDES = {
    "SYNC_ACCOUNTS": "Accounts",
    "SYNC_ACCOUNT_ID": "AccountId",
    "BINANCE_SECRET_ARN": "BinanceSecretArn",
    "ALERT_EMAIL": "AlertEmail",
    "SCHEDULE": "ScheduleExpression",
    "TOLERANCE_PCT": "TolerancePct",
}
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$")
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
UNIT_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}


def fail(message):
    print(f"deploy: {message}", file=sys.stderr)
    sys.exit(2)


def overrides(value):
    """parameter_overrides as SAM accepts it: a list of Key=Value or one string."""
    items = value if isinstance(value, list) else shlex.split(value or "")
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            fail(f"parameter_overrides entry {item!r} is not Key=Value")
        out[key] = val
    return out


def schedule_minutes(expression):
    m = RATE.match(expression.strip())
    return int(m.group(1)) * UNIT_MINUTES[m.group(2)] if m else None


def main(argv):
    if len(argv) != 4:
        fail("usage: deploy_args.py <samconfig.toml> <env> <template.yaml>")
    path, env_name, template = argv[1:]
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"{path}: {e}")
    section = config.get(env_name, {}).get("deploy", {}).get("parameters")
    if section is None:
        envs = sorted(k for k, v in config.items() if isinstance(v, dict) and "deploy" in v)
        fail(f"{path} has no [{env_name}.deploy.parameters] (environments: {', '.join(envs)})")

    params = overrides(section.get("parameter_overrides", []))
    for var, name in ENV_OVERRIDES.items():
        value = os.environ.get(var, "").strip()
        if value:
            params[name] = value
    if "SCHEDULE" in os.environ and os.environ["SCHEDULE"].strip():
        # A schedule from the environment brings its period along (unless it is cron()).
        minutes = schedule_minutes(params["ScheduleExpression"])
        if minutes is not None:
            params["SchedulePeriodSeconds"] = str(minutes * 60)
            params["ScheduleMinutes"] = str(minutes)

    for name in LOCAL_ONLY:
        if params.get(name):
            fail(f"{name} is for the local emulator only; remove it from [{env_name}]")
    fleet = params.get("Accounts", "environment") == "registry"
    if fleet:
        # A fleet's accounts and secrets are the registry's (accounts add), not
        # parameters: an environment's single-account values are left out.
        for name in ("AccountId", "BinanceSecretArn"):
            params.pop(name, None)
    else:
        if not params.get("AccountId"):
            fail("set SYNC_ACCOUNT_ID or AccountId in parameter_overrides (the bot account name)")
        arn = params.get("BinanceSecretArn", "")
        if not arn:
            fail("set BINANCE_SECRET_ARN (the Secrets Manager secret holding the API key)")
        if not SECRET_ARN.match(arn):
            fail("BINANCE_SECRET_ARN is not a Secrets Manager secret ARN")
    expression = params.get("ScheduleExpression", "rate(30 minutes)")
    minutes = schedule_minutes(expression)
    if minutes is not None:
        period = params.get("SchedulePeriodSeconds", "1800")
        sched = params.get("ScheduleMinutes", "30")
        if period != str(minutes * 60) or sched != str(minutes):
            fail(
                f"ScheduleExpression {expression} needs SchedulePeriodSeconds={minutes * 60} and "
                f"ScheduleMinutes={minutes} (got {period} and {sched})"
            )

    stack = os.environ.get("STACK_NAME", "").strip() or section.get("stack_name")
    if not stack:
        fail(f"[{env_name}] has no stack_name and STACK_NAME is not set")
    args = [
        "deploy",
        "--config-file", os.path.abspath(path),
        "--config-env", env_name,
        "--template-file", template,
        "--stack-name", stack,
    ]
    region = os.environ.get("AWS_REGION", "").strip() or section.get("region")
    if region:
        args += ["--region", region]
    args += ["--parameter-overrides"] + [f"{k}={v}" for k, v in params.items()]
    sys.stdout.write("\0".join(args) + "\0")


if __name__ == "__main__":
    main(sys.argv)
