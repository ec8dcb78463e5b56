#!/usr/bin/env python3
"""Deploy infra/template.yaml into ministack and verify the Lambda end to end.

Called by scripts/e2e.sh with AWS_ENDPOINT_URL pointing at the emulator. Each step prints
one line; any failed check raises and exits non-zero.
"""
import argparse
import json
import sys
import time

import boto3
from boto3.dynamodb.conditions import Key
from botocore.config import Config

ACCOUNT = "e2e"
STACK = "bas-e2e"
SECRET_NAME = "binance/e2e"


def step(msg):
    print(f"-- {msg}", flush=True)


def check(cond, msg):
    if not cond:
        raise SystemExit(f"CHECK FAILED: {msg}")
    print(f"   ok: {msg}", flush=True)


def upload_zip(s3, bucket, path):
    """The function's zip into a new bucket of the emulator's S3, as bootstrap.zip."""
    s3.create_bucket(Bucket=bucket)
    with open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key="bootstrap.zip", Body=f.read())


def template_from_bucket(path, bucket):
    """The template with its code taken from the uploaded zip: the real template builds
    from the crate root with sam build; here the code is the zip cargo-lambda produced."""
    template = open(path).read()
    needle = "      CodeUri: ..\n"
    if needle not in template:
        raise SystemExit("CodeUri line not found in the template")
    return template.replace(needle, f"      CodeUri: s3://{bucket}/bootstrap.zip\n")


def create_stack(cfn, name, template, params, timeout_s):
    """Create the stack and wait for it; a failure names the resources that failed.
    Returns the stack's outputs."""
    cfn.create_stack(
        StackName=name,
        TemplateBody=template,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.time() + timeout_s
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status.endswith("_COMPLETE") or status.endswith("_FAILED"):
            break
        if time.time() > deadline:
            raise SystemExit(f"stack still {status} after {timeout_s} s")
        time.sleep(1)
    if status != "CREATE_COMPLETE":
        for e in cfn.describe_stack_events(StackName=name)["StackEvents"]:
            if "FAILED" in e.get("ResourceStatus", ""):
                print(f"   {e['LogicalResourceId']}: {e.get('ResourceStatusReason')}")
        raise SystemExit(f"stack {status}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deploy(args, cfn, s3, sm):
    bucket = "bas-e2e-artifacts"
    upload_zip(s3, bucket, args.zip)
    secret_arn = sm.create_secret(
        Name=SECRET_NAME,
        SecretString=json.dumps({"api_key": "demo-key", "api_secret": "demo-secret"}),
    )["ARN"]
    step(f"secret {secret_arn}")

    template = template_from_bucket(args.template, bucket)
    params = {
        "AccountId": ACCOUNT,
        "BinanceSecretArn": secret_arn,
        "ScheduleExpression": "rate(1 minute)",
        "SchedulePeriodSeconds": "60",
        "MinIntervalSeconds": "0",
        "Architecture": "x86_64",
        "LocalEndpointUrl": args.aws_url,
        "LocalBinanceBaseUrl": args.binance_url,
    }
    outputs = create_stack(cfn, STACK, template, params, timeout_s=120)
    check({"FunctionName", "TableName", "AlertTopicArn", "LogGroupName"} <= outputs.keys(), f"stack created, outputs {sorted(outputs)}")
    return outputs


def subscribe_queue(sns, sqs, topic_arn):
    url = sqs.create_queue(QueueName="bas-e2e-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "false"})
    return url


def invoke(lam, fn, payload):
    out = lam.invoke(FunctionName=fn, InvocationType="RequestResponse", Payload=json.dumps(payload).encode())
    body = out["Payload"].read().decode()
    try:
        body = json.loads(body)
    except ValueError:
        pass
    return out.get("FunctionError"), body


def emf_docs(logs, group):
    docs = []
    kwargs = {"logGroupName": group}
    while True:
        try:
            page = logs.filter_log_events(**kwargs)
        except logs.exceptions.ResourceNotFoundException:
            return docs
        for e in page.get("events", []):
            msg = e["message"].strip()
            if "CloudWatchMetrics" not in msg:
                continue
            try:
                doc = json.loads(msg)
            except ValueError:
                continue
            # Lambda's JSON log format may wrap the line; unwrap a "message" member.
            if isinstance(doc.get("message"), str) and "CloudWatchMetrics" in doc["message"]:
                doc = json.loads(doc["message"])
            if "_aws" in doc:
                docs.append(doc)
        token = page.get("nextToken")
        if not token:
            return docs
        kwargs["nextToken"] = token


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", required=True)
    ap.add_argument("--template", required=True)
    ap.add_argument("--binance-url", required=True)
    ap.add_argument("--aws-url", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--timeout", type=int, default=240)
    args = ap.parse_args()

    session = boto3.session.Session()
    cfn, s3, sm = session.client("cloudformation"), session.client("s3"), session.client("secretsmanager")
    # A synchronous invoke may take up to the function's timeout (300 s); no SDK retries.
    lam = session.client("lambda", config=Config(read_timeout=310, retries={"max_attempts": 1}))
    logs = session.client("logs")
    sns, sqs = session.client("sns"), session.client("sqs")
    ddb = session.resource("dynamodb")

    step("deploying infra/template.yaml (SAM transform) into the emulator")
    out = deploy(args, cfn, s3, sm)
    fn, table, topic, group = out["FunctionName"], out["TableName"], out["AlertTopicArn"], out["LogGroupName"]
    queue = subscribe_queue(sns, sqs, topic)
    step(f"function {fn}, table {table}, alerts -> SQS")

    step("a bad payload is rejected before any I/O with errorType PayloadError")
    err, body = invoke(lam, fn, {"mode": "full"})
    check(err is not None and isinstance(body, dict) and body.get("errorType") == "PayloadError", f"errorType {body!r}"[:200])

    step("manual emergency invoke")
    err, report = invoke(lam, fn, {"mode": "emergency", "dry_run": False, "lookback_days": 30})
    with open(f"{args.run_dir}/emergency-report.json", "w") as f:
        json.dump(report, f, indent=2)
    check(err is None, f"no function error ({str(report)[:300]})")
    corrections = sum(report.get("counts", {}).values())
    check(report.get("outcome") == "complete", f"outcome {report.get('outcome')}")
    check(corrections > 0, f"{corrections} corrections {report.get('counts')}")

    step("records corrected in DynamoDB")
    items = ddb.Table(table).query(KeyConditionExpression=Key("pk").eq(f"ACCOUNT#{ACCOUNT}"))["Items"]
    kinds = sorted({i["sk"].split("#")[0] for i in items})
    check(any(k in kinds for k in ("BALANCE", "POSITION", "TRADE")), f"{len(items)} items, kinds {kinds}")
    check("AUDIT" in kinds, "audit records written")

    step("EMF metrics in the function's log group")
    docs = emf_docs(logs, group)
    runs = [d for d in docs if "SyncSuccess" in d]
    check(any(d.get("Mode") == "emergency" and d.get("SyncSuccess") == 1 for d in runs), f"{len(docs)} EMF documents")
    cold = [d for d in docs if "ColdStart" in d]
    check(bool(cold) and all(d.get("function_name") and d.get("service") for d in cold),
          "cold-start document (Powertools dimensions function_name, service)")
    inits = [d for d in docs if "InitDurationMs" in d]
    step(f"measured: init {[d.get('InitDurationMs') for d in inits]} ms at cold start; "
         f"run durations {[d.get('DurationMs') for d in runs]} ms")

    step("alert delivered through SNS to SQS")
    msgs = []
    end = time.time() + 30
    while time.time() < end and not msgs:
        msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    check(bool(msgs), f"{len(msgs)} alert message(s)")
    envelope = json.loads(msgs[0]["Body"])
    attrs = envelope.get("MessageAttributes", {})
    check(attrs.get("account", {}).get("Value") == ACCOUNT, f"attributes {sorted(attrs)}")
    check("type" in attrs and "severity" in attrs, f"subject {envelope.get('Subject')!r}")

    step(f"waiting (<= {args.timeout} s) for a scheduled periodic run with zero corrections")
    end = time.time() + args.timeout
    found = None
    while time.time() < end and not found:
        time.sleep(5)
        for d in emf_docs(logs, group):
            if d.get("Mode") == "periodic" and d.get("Outcome") == "complete":
                found = d
                if d.get("Corrections") == 0:
                    break
        if found and found.get("Corrections") != 0:
            found = None
    check(found is not None, "scheduled periodic run completed")
    check(found.get("Corrections") == 0, f"periodic run corrections = {found.get('Corrections')}")

    check_panic(lam, fn, logs, group, sqs, queue)
    print("e2e checks passed")


def check_panic(lam, fn, logs, group, sqs, queue):
    """A panic inside the run is a failed run, not a crash: the test-only payload (accepted
    because the function's AWS_ENDPOINT_URL is this emulator on 127.0.0.1) panics in the
    built function, which must answer errorType Panic, count SyncFailure with ErrorType
    Panic, and publish the failure alert."""
    step("a test_panic payload (local emulator only) is a failed run: errorType Panic, metric, alert")
    err, body = invoke(lam, fn, {"mode": "emergency", "test_panic": True})
    check(err is not None and isinstance(body, dict) and body.get("errorType") == "Panic",
          f"errorType {body!r}"[:300])
    check("test_panic requested" in body.get("errorMessage", "") and "panicked at" in body.get("errorMessage", ""),
          f"errorMessage {body.get('errorMessage')!r}"[:300])

    # The EMF document (ministack keeps it in the log group; it does not derive metrics
    # from EMF, so the log group is where CloudWatch holds it here).
    end = time.time() + 30
    failures = []
    while time.time() < end and not failures:
        failures = [d for d in emf_docs(logs, group) if d.get("SyncFailure") == 1 and d.get("ErrorType") == "Panic"]
        if not failures:
            time.sleep(1)
    check(bool(failures), "SyncFailure = 1 with ErrorType Panic in the function's EMF metrics")
    check(failures[0].get("Mode") == "emergency" and failures[0].get("SyncSuccess") == 0,
          f"dimensions Mode={failures[0].get('Mode')}, SyncSuccess={failures[0].get('SyncSuccess')}")

    end = time.time() + 30
    alert = None
    while time.time() < end and alert is None:
        msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
        for m in msgs:
            envelope = json.loads(m["Body"])
            if "failed: Panic" in (envelope.get("Subject") or ""):
                alert = envelope
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    check(alert is not None, "the failure alert (subject '... failed: Panic') arrived through SNS")
    attrs = alert.get("MessageAttributes", {})
    check(attrs.get("type", {}).get("Value") == "failure" and attrs.get("severity", {}).get("Value") == "critical",
          f"alert attributes type={attrs.get('type')}, severity={attrs.get('severity')}")
    check("Error type: Panic" in alert.get("Message", ""), "the alert names the errorType")


def run(main):
    """Run a check script's main: a boto error becomes one readable line and exit 1."""
    try:
        main()
    except SystemExit:
        raise
    except Exception as exc:  # boto errors: one readable line
        print(f"CHECK FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    run(main)
