"""AWS list prices the cost benchmarks use, each with where it was read and when.

us-east-1, on-demand, without free tiers: the free tiers are per account (a chain's stores share one, and a
store's account may already use it up elsewhere), so a store's bill is priced as if none were left; the
benchmark says which lines a free tier would cover. The live pricing pages render their tables client-side
and could not be read from here: each price below was read from the stored copy named in `source` (the
pricing page's text, AWS's public price-list files, or the service documentation) on `read_on`.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_A_MONTH = 730  # AWS's own month for hourly charges (8,760 h / 12)


@dataclass(frozen=True)
class Price:
    usd: float  # for `per` units
    per: int
    unit: str
    source: str
    read_on: str = "2026-12-01"

    @property
    def each(self) -> float:
        return self.usd / self.per

    def __str__(self) -> str:
        usd = f"{self.usd:.10f}".rstrip("0").rstrip(".")
        return f"${usd} per {self.per:,} {self.unit}" if self.per > 1 else f"${usd} per {self.unit}"


def _p(usd: float, per: int, unit: str, source: str, read_on: str = "2026-12-01") -> Price:
    return Price(usd, per, unit, source, read_on)


PRICES: dict[str, Price] = {
    # --- Rekognition
    "stream_face_search_minute": _p(
        0.12,
        1,
        "minute of video a face-search stream processor analyses",
        "aws.amazon.com/rekognition/pricing (Streaming Video Events: face search); AWS's Rekognition deep-dive gives "
        "$0.10-0.12/min, a Tokyo deployment's bill $0.15/min",
        "2026-11-24",
    ),
    "search_faces_by_image": _p(
        0.001,
        1,
        "image (SearchFacesByImage; first 1M images a month)",
        "aws.amazon.com/rekognition/pricing (Rekognition Image, Group 1 APIs, first 1 million images)",
        "2026-11-24",
    ),
    "face_storage": _p(0.01, 1000, "faces stored for a month", "aws.amazon.com/rekognition/pricing (face metadata)"),
    # --- Kinesis Video Streams
    "kvs_ingested_gb": _p(
        0.0085, 1, "GB of video ingested into Kinesis Video Streams", "aws.amazon.com/kinesis/video-streams/pricing"
    ),
    "kvs_stored_gb_month": _p(0.023, 1, "GB-month of video stored", "aws.amazon.com/kinesis/video-streams/pricing"),
    "kvs_consumed_gb": _p(
        0.0085,
        1,
        "GB of video read from Kinesis Video Streams",
        "aws.amazon.com/kinesis/video-streams/pricing",
        "2026-11-24",
    ),
    # --- Kinesis Data Streams
    "kds_on_demand_stream_hour": _p(
        0.04, 1, "on-demand stream-hour", "aws.amazon.com/kinesis/data-streams/pricing (on-demand, per stream)"
    ),
    "kds_on_demand_ingest_gb": _p(
        0.08, 1, "GB written to an on-demand stream", "aws.amazon.com/kinesis/data-streams/pricing"
    ),
    "kds_on_demand_read_gb": _p(
        0.04, 1, "GB read from an on-demand stream", "aws.amazon.com/kinesis/data-streams/pricing"
    ),
    "kds_shard_hour": _p(
        0.015, 1, "provisioned shard-hour", "aws.amazon.com/kinesis/data-streams/pricing (provisioned)"
    ),
    "kds_put_unit": _p(
        0.014, 1_000_000, "PUT payload units (25 KB each), provisioned", "aws.amazon.com/kinesis/data-streams/pricing"
    ),
    # --- Lambda (arm64)
    "lambda_request": _p(0.20, 1_000_000, "Lambda requests", "aws.amazon.com/lambda/pricing"),
    "lambda_gb_second": _p(0.0000133334, 1, "GB-second of Lambda, arm64", "aws.amazon.com/lambda/pricing"),
    # --- DynamoDB (on-demand)
    "dynamodb_write": _p(
        0.625, 1_000_000, "on-demand write request units", "aws.amazon.com/dynamodb/pricing/on-demand"
    ),
    "dynamodb_read": _p(0.125, 1_000_000, "on-demand read request units", "aws.amazon.com/dynamodb/pricing/on-demand"),
    "dynamodb_storage_gb_month": _p(
        0.25, 1, "GB-month stored (Standard table class)", "aws.amazon.com/dynamodb/pricing"
    ),
    "dynamodb_pitr_gb_month": _p(0.20, 1, "GB-month of point-in-time recovery", "aws.amazon.com/dynamodb/pricing"),
    # --- S3
    "s3_put": _p(0.005, 1000, "PUT requests (S3 Standard)", "aws.amazon.com/s3/pricing"),
    "s3_get": _p(0.0004, 1000, "GET requests (S3 Standard)", "aws.amazon.com/s3/pricing"),
    "s3_storage_gb_month": _p(0.023, 1, "GB-month (S3 Standard, first 50 TB)", "aws.amazon.com/s3/pricing"),
    # --- SNS, SQS
    "sns_publish": _p(0.50, 1_000_000, "SNS publishes (64 KB chunks)", "aws.amazon.com/sns/pricing"),
    "sns_email": _p(2.00, 100_000, "email notifications", "aws.amazon.com/sns/pricing (first 1,000 a month free)"),
    "sqs_request": _p(
        0.40,
        1_000_000,
        "SQS requests (standard queues; every API action, an empty receive too, and each 64 KB of a payload counts "
        "as one; an account's first million a month free)",
        "aws.amazon.com/sqs/pricing",
    ),
    # --- CloudWatch
    "cw_metric_month": _p(
        0.30,
        1,
        "custom metric-month (first 10,000; prorated by the hour it is sent)",
        "aws.amazon.com/cloudwatch/pricing (metrics; EMF metrics count as custom metrics)",
    ),
    "cw_alarm_metric_month": _p(
        0.10, 1, "standard-resolution alarm metric-month", "aws.amazon.com/cloudwatch/pricing (alarms; per metric)"
    ),
    "cw_dashboard_month": _p(
        3.00, 1, "dashboard-month (first 3 per account free)", "aws.amazon.com/cloudwatch/pricing (dashboards)"
    ),
    "cw_logs_ingest_gb": _p(
        0.50, 1, "GB of logs ingested (standard class)", "aws.amazon.com/cloudwatch/pricing (logs)"
    ),
    "cw_logs_stored_gb_month": _p(0.03, 1, "GB-month of logs stored (compressed)", "aws.amazon.com/cloudwatch/pricing"),
    # --- KMS, X-Ray
    "kms_key_month": _p(1.00, 1, "customer-managed key-month", "aws.amazon.com/kms/pricing"),
    "kms_request": _p(0.03, 10_000, "KMS requests", "aws.amazon.com/kms/pricing"),
    "xray_trace": _p(5.00, 1_000_000, "traces recorded (first 100,000 a month free)", "aws.amazon.com/xray/pricing"),
    # --- Step Functions, EventBridge Scheduler
    "sfn_transition": _p(
        0.025,
        1000,
        "state transitions (Standard workflows; 4,000 a month free)",
        "aws.amazon.com/step-functions/pricing",
    ),
    "scheduler_invocation": _p(
        1.00, 1_000_000, "scheduled invocations (first 14 million a month free)", "aws.amazon.com/eventbridge/pricing"
    ),
    # --- The staff side: API Gateway, WAF, Cognito, CloudFront, AppSync Events
    "apigw_rest_request": _p(
        3.50, 1_000_000, "REST API requests (first 333 million)", "aws.amazon.com/api-gateway/pricing"
    ),
    "waf_web_acl_month": _p(5.00, 1, "web ACL-month", "aws.amazon.com/waf/pricing"),
    "waf_rule_month": _p(1.00, 1, "rule-month (a managed rule group counts as one rule)", "aws.amazon.com/waf/pricing"),
    "waf_request": _p(0.60, 1_000_000, "requests inspected", "aws.amazon.com/waf/pricing"),
    "cognito_essentials_mau": _p(
        0.015,
        1,
        "monthly active user, Essentials plan (10,000 MAU a month free per account)",
        "aws.amazon.com/cognito/pricing; Cognito developer guide, user pool feature plans",
    ),
    "cognito_plus_mau": _p(
        0.02,
        1,
        "monthly active user, Plus plan (threat protection; no free tier)",
        "aws.amazon.com/cognito/pricing; docs.aws.amazon.com/cognito/latest/developerguide/feature-plans-features-plus",
    ),
    "cloudfront_gb": _p(
        0.085, 1, "GB to viewers (North America/Europe, first 10 TB)", "aws.amazon.com/cloudfront/pricing"
    ),
    "cloudfront_request": _p(0.01, 10_000, "HTTPS requests", "aws.amazon.com/cloudfront/pricing"),
    "appsync_event_operation": _p(
        1.00,
        1_000_000,
        "AppSync Events API operations (publishes, broadcasts, connects, subscribes)",
        "aws.amazon.com/appsync/pricing; AWS price list (AWSAppSync: '$1 per million Event API operations')",
    ),
    "appsync_connection_minute": _p(0.08, 1_000_000, "real-time connection-minutes", "aws.amazon.com/appsync/pricing"),
    "budget_day": _p(
        0.02,
        1,
        "budget-day beyond an account's first two budgets",
        "aws.amazon.com/aws-cost-management/aws-budgets/pricing",
    ),
}


@dataclass(frozen=True)
class Assumption:
    """A figure the bill needs that AWS does not price: what AWS does on our behalf, and where that is said."""

    value: float
    unit: str
    source: str
    read_on: str = "2026-12-01"


ASSUMPTIONS: dict[str, Assumption] = {
    # Lambda's SQS poller receives from the queue whether or not anything is on it: its long polls are
    # requests SQS bills, round the clock.
    "sqs_idle_pollers": Assumption(
        5,
        "long polls Lambda's SQS poller keeps open at a time on a quiet standard queue",
        "docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling ('Lambda uses long polling to poll a queue until "
        "it becomes active', then 'five batches at a time'; at low traffic it 'can optimize to as few as 2 "
        "concurrent batches', not when maximum concurrency is set)",
    ),
    "sqs_long_poll_seconds": Assumption(
        20,
        "seconds each of those long polls waits on an empty queue",
        "AWS documents no figure for Lambda's poller: 20 s is SQS's longest wait "
        "(docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling), and "
        "5 polls of 20 s are the 15 empty receives a minute an idle Lambda-polled queue's NumberOfEmptyReceives "
        "showed in github.com/getlift/lift/issues/132 (2021-11-09)",
    ),
}
