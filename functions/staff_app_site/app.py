"""Publishes the staff app to its bucket at every deploy: a CloudFormation custom resource.

Create/Update: upload the built app (site/, put there by `sam build`), write config.json with the endpoints the
template passes in (so the app finds its API, user pool and arrivals channel with no manual step), then ask
CloudFront to drop its cached copies. Delete: empty the bucket (every version), so the stack can delete it.
Any failure is reported to CloudFormation (the deploy stops and rolls back) rather than left hanging.
"""

import contextlib
import json
import mimetypes
import time
import urllib.request
from pathlib import Path

import boto3
from greeter_common.observability import logger

SITE = Path(__file__).with_name("site")
# The page and its settings are read on every load (a deploy changes them at once); the rest for a day.
NO_CACHE = {"index.html", "config.json"}
CONFIG_KEYS = (
    "region",
    "userPoolId",
    "userPoolClientId",
    "apiUrl",
    "eventsHttpHost",
    "eventsRealtimeEndpoint",
    "storeName",
    "storeTimeZone",
    "locale",
)

s3 = boto3.client("s3")
cloudfront = boto3.client("cloudfront")


def publish(bucket: str, config: dict, site: Path | None = None) -> list[str]:
    keys, site = [], site or SITE
    for path in sorted(p for p in site.rglob("*") if p.is_file() and p.suffix != ".map"):
        key = path.relative_to(site).as_posix()
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream",
            CacheControl="no-cache" if key in NO_CACHE else "public, max-age=86400",
        )
        keys.append(key)
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps({key: config[key] for key in CONFIG_KEYS}, indent=2).encode(),
        ContentType="application/json",
        CacheControl="no-cache",
    )
    return [*keys, "config.json"]


def empty(bucket: str) -> int:
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            removed += len(objects)
    return removed


def invalidate(distribution_id: str) -> None:
    cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
    )


def respond(event: dict, status: str, reason: str = "") -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:500] or "see the function's logs",
            "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-site",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    if not event["ResponseURL"].startswith("https://"):
        raise ValueError("CloudFormation's response URL is an https:// presigned URL")
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - checked above: CloudFormation's HTTPS URL
        pass


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> None:
    properties = event["ResourceProperties"]
    try:
        if event["RequestType"] == "Delete":
            # A bucket never created (a failed first deploy) has nothing to empty.
            with contextlib.suppress(s3.exceptions.NoSuchBucket):
                logger.info("emptied the app bucket", extra={"objects": empty(properties["Bucket"])})
        else:
            keys = publish(properties["Bucket"], properties)
            invalidate(properties["DistributionId"])
            logger.info("published the staff app", extra={"files": keys})
        respond(event, "SUCCESS")
    except Exception as error:
        logger.exception("staff app not published")
        respond(event, "FAILED", f"{type(error).__name__}: {error}")
