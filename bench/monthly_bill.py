"""The whole bill: what one store pays AWS a month, all in, priced from template.yaml's own resources.

    .venv/bin/python -m bench.monthly_bill                 # quiet, typical and busy stores, 1 and 3 cameras, both modes
    .venv/bin/python -m bench.monthly_bill --stores 100    # ... and a chain of 100 stores, one stack each

The resources priced are the ones the template deploys for the store's parameters: local/stack.py (shared
with the tests and `make local`) evaluates the parameters, conditions and loops as CloudFormation would, so
nothing here is a hand-kept list. Every resource type is either billed by a rule below or listed in
FREE_TYPES, and a test fails when the template gains a type that is neither. Properties that change the bill
(the detection stream's capacity mode, which queue an event source mapping polls and its batch size and
concurrency, memory sizes, the web ACL's rules, the user pool's plan, alarms' metrics, retention) are read from
the template too.

What the store does (visitors, cameras, hours, staff) is `Store`; how much each visitor costs in face searches
is the frame-search camera simulation of bench/detection_cost.py (the Pi's crop policy and its memory of searched
faces over simulated days, the memory's rates measured on real photos by bench/face_memory.py).
Prices: bench/prices.py (us-east-1 list prices, each with its source and the date it was read; no free tiers: a
line's basis says where an account's free tier would cover it), and there too the assumptions about what AWS does
unpriced on the stack's behalf (Lambda's SQS poller's long polls), each with its source.

Prints the tables and writes them as markdown to bench/results/monthly_bill.md.
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.detection_cost import CameraPolicy, StoreDay, simulate_month
from bench.prices import ASSUMPTIONS, HOURS_A_MONTH, PRICES
from bench.report import markdown_table, publish
from bench.store_hours_cost import CAMERA_TRANSITIONS, RECONCILE_TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(ROOT / "pi"))  # the camera's own defaults (installed on the Pi, not packaged)
from greeter_camera.config import REPLAY_BITRATE_KBPS, STREAM_PROCESSOR_BITRATE_KBPS  # noqa: E402

from local.stack import Stack, load_template  # noqa: E402  (the template, evaluated as CloudFormation would)

P = {name: price.each for name, price in PRICES.items()}
DAYS_A_MONTH = 30.4


# ---------------------------------------------------------------------- what the store does
@dataclass(frozen=True)
class Store:
    """One store's month. Defaults: the typical store the README prices."""

    visitors: int = 300  # a day
    cameras: int = 1
    mode: str = "FrameSearch"
    open_hours: float = 12.0  # a day, detection on (store hours)
    open_days: int = 30
    registered_share: float = 0.2  # visitors who registered, so get staff an email and an arrival
    registered_people: int = 500  # faces in the collection, rows in the people table
    photos_per_person: float = 1.5
    alert_addresses: int = 2  # AlertEmails: every alert email goes to each
    staff_accounts: int = 6  # people who sign in (monthly active users)
    tablets: int = 2  # counter tablets signed in all opening hours
    api_requests_a_day: int = 200  # the staff app and CLI: registrations, look-ups, arrivals, store screen
    app_loads_a_day: int = 10
    video_kbps: int | None = None  # the camera's GREETER_BITRATE_KBPS; None: its default for the mode
    video_hours_a_day: float = 24.0  # the camera streams video round the clock, open or not
    sp_frames_per_second: float = 5.0  # StreamProcessor: analysed frames a second per camera, one record each

    @property
    def bitrate_kbps(self) -> int:
        if self.video_kbps is not None:
            return self.video_kbps
        return REPLAY_BITRATE_KBPS if self.mode == "FrameSearch" else STREAM_PROCESSOR_BITRATE_KBPS

    @property
    def label(self) -> str:
        size = {100: "quiet", 300: "typical", 3000: "busy"}.get(self.visitors, f"{self.visitors}/day")
        return f"{size} ({self.visitors}/day), {self.cameras} camera{'s' if self.cameras > 1 else ''}, {self.mode}"


@dataclass(frozen=True)
class FunctionUsage:
    """How often a function runs and what a run costs it, for the store's month."""

    invocations: Callable[[Store, dict], float]  # (store, activity) -> invocations a month
    seconds: float  # billed duration per invocation
    log_bytes: float  # per invocation: START/END/REPORT plus the function's own structured lines


# Activity a month that several lines share, computed once per store (see `activity`).
def _crops(s: Store, a: dict) -> float:
    return a["crops"] if s.mode == "FrameSearch" else 0


def _detection_records(s: Store, a: dict) -> float:
    return a["detection_records"]


def _match_invocations(s: Store, a: dict) -> float:
    # One invocation per 1-second batching window with records in it: a frame-search store's records arrive
    # seconds apart (one invocation each); a stream processor writes every second of opening hours.
    if s.mode == "FrameSearch":
        return a["detection_records"]
    return s.open_hours * 3600 * s.open_days


def _store_hours_runs(s: Store, a: dict) -> float:
    return a["store_hours_runs"]


def _api_requests(s: Store, a: dict) -> float:
    return s.api_requests_a_day * DAYS_A_MONTH


def _watch_runs(s: Store, a: dict) -> float:
    return a["watch_runs"]


# Every function of the template needs an entry (a test checks): a new function is priced on purpose.
FUNCTION_USAGE: dict[str, FunctionUsage] = {
    "FrameSearchFunction": FunctionUsage(_crops, seconds=0.4, log_bytes=1500),
    "MatchFunction": FunctionUsage(_match_invocations, seconds=0.08, log_bytes=1200),
    "RegistrationFunction": FunctionUsage(_api_requests, seconds=0.3, log_bytes=2000),
    "StoreHoursFunction": FunctionUsage(_store_hours_runs, seconds=0.1, log_bytes=1000),
    # One run a minute for the whole store: one S3 read (or Kinesis Video metric read) per camera.
    "CameraWatchFunction": FunctionUsage(_watch_runs, seconds=0.15, log_bytes=600),
    # Runs once per deploy (uploads the staff app): a couple of deploys a month at most.
    "StaffAppSiteFunction": FunctionUsage(lambda s, a: 2, seconds=5.0, log_bytes=2000),
}

# Resource types that cost nothing by themselves (what they do is billed where it happens).
FREE_TYPES = {
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::BucketPolicy",
    "AWS::IoT::RoleAlias",  # the IoT credentials provider has no charge of its own
    "AWS::IoT::Policy",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolGroup",
    "AWS::Cognito::UserPoolUser",
    "AWS::Cognito::UserPoolUserToGroupAttachment",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolRiskConfigurationAttachment",  # threat protection's actions: priced with the Plus plan
    "AWS::ApiGateway::Account",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::SSM::Parameter",  # standard tier (an Advanced one is refused below)
    "AWS::Serverless::LayerVersion",
    "AWS::Lambda::LayerVersion",
    "AWS::Lambda::Permission",
    "AWS::Events::Rule",  # S3's events to the default bus and their rules are free
    "AWS::WAFv2::WebACLAssociation",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::Function",  # priced with the distribution's requests
    "AWS::CloudFormation::CustomResource",
    "AWS::AppSync::ChannelNamespace",  # priced with the API's operations
    "AWS::Logs::ResourcePolicy",
}

BILLED_TYPES = {
    "AWS::KinesisVideo::Stream",
    "AWS::Rekognition::StreamProcessor",
    "AWS::Rekognition::Collection",
    "AWS::Kinesis::Stream",
    "AWS::Serverless::Function",
    "AWS::Lambda::Function",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::SQS::Queue",
    # On a queue, Lambda's poller's requests are the queue's (priced with it); on a stream, its reads are
    # included in the stream's shard-hours.
    "AWS::Lambda::EventSourceMapping",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
    "AWS::Logs::LogGroup",
    "AWS::KMS::Key",
    "AWS::Serverless::StateMachine",
    "AWS::StepFunctions::StateMachine",
    "AWS::Scheduler::Schedule",
    "AWS::Serverless::Api",
    "AWS::ApiGateway::RestApi",
    "AWS::WAFv2::WebACL",
    "AWS::Cognito::UserPool",
    "AWS::CloudFront::Distribution",
    "AWS::AppSync::Api",
    "AWS::Budgets::Budget",
}


# ---------------------------------------------------------------------- the template, as deployed
class DeployPlan(Stack):
    """The template's resources for a store's parameters, without deploying anything: a resource's Ref or
    attribute resolves to a placeholder, so properties that depend only on parameters come out real."""

    def ref(self, name: str):
        if name.startswith("AWS::") or name in self.parameters:
            return super().ref(name)
        return f"<{name}>"

    def get_att(self, logical_id: str, attribute: str):
        return f"<{logical_id}.{attribute}>"

    def properties(self, logical_id: str) -> dict:
        return self.resolve(self.resources[logical_id].get("Properties", {}))

    def of_type(self, *types: str) -> list[str]:
        return [logical_id for logical_id, r in self.resources.items() if r["Type"] in types]


CAMERA_NAMES = ["entrance", "till", "door", "fitting-rooms", "back", "window"]


def template_parameters(store: Store) -> dict:
    names = CAMERA_NAMES[: store.cameras]
    addresses = ",".join(f"staff{i}@example.com" for i in range(1, store.alert_addresses + 1))
    parameters = {"DetectionMode": store.mode, "AlertEmails": addresses}
    if "Cameras" in load_template().get("Parameters", {}):
        parameters["Cameras"] = ",".join(names)
    else:  # fixed camera slots
        for i, name in enumerate(names, start=1):
            parameters[f"Camera{i}"] = name
    return parameters


def plan_for(store: Store) -> DeployPlan:
    return DeployPlan(template_parameters(store), name="greeter")


# ---------------------------------------------------------------------- activity a month
@functools.cache
def _camera_month(visitors: int, open_hours: float, open_days: int, seed: int) -> tuple[int, int]:
    """(crops, searches) one camera sends in the month: the Pi's crop policy over simulated days."""
    month = simulate_month(StoreDay(visitors=visitors, open_hours=open_hours), CameraPolicy.measured(), open_days, seed)
    return sum(d.crops for d in month), sum(d.searches for d in month)


def activity(store: Store, seed: int = 7) -> dict:
    """Counts a month that several lines share: crops, searches, records, emails, runs."""
    crops, searches = _camera_month(store.visitors, store.open_hours, store.open_days, seed)
    # Every camera of the store sees about every visitor (entrance, till, door): an upper bound for cameras 2+.
    crops, searches = crops * store.cameras, searches * store.cameras
    if store.mode == "FrameSearch":
        records = searches
    else:
        records = store.sp_frames_per_second * store.open_hours * 3600 * store.open_days * store.cameras
    visits_of_registered = store.visitors * store.registered_share * store.open_days
    runs_a_day = 6 * 24 + 2  # the 10-minute reconcile and the opening and closing runs
    return {
        "crops": crops,
        "searches": searches,
        "detection_records": records,
        "alerts": visits_of_registered,
        "store_hours_runs": runs_a_day * DAYS_A_MONTH,
        # A camera's heartbeat every minute, round the clock (the silent-camera alarm's input), and the camera
        # watch reading each of them every minute.
        "heartbeats": 60 * 24 * DAYS_A_MONTH * store.cameras,
        "watch_runs": 60 * 24 * DAYS_A_MONTH,
    }


# ---------------------------------------------------------------------- the bill
@dataclass(frozen=True)
class Line:
    service: str
    usd: float
    basis: str
    fixed: bool = False  # paid whatever the footfall (a resource's monthly charge)
    shareable: bool = False  # one of these could serve a whole chain (see `chain`)


def _metric_names() -> tuple[set[str], set[str]]:
    """Custom metrics Greeter's code emits (EMF via Powertools): (store-wide names, names with one series per
    camera). Store-wide: literal add_metric names, the match function's rejection classes' `metric`, cold starts.
    Per camera: the match function's `_camera_metric` names (the camera watch's CameraSilent and CameraClockSkew
    are priced on their own line)."""
    names: set[str] = set()
    per_camera: set[str] = set()
    for path in list((ROOT / "functions").rglob("*.py")) + list((ROOT / "layers").rglob("*.py")):
        text = path.read_text()
        names.update(re.findall(r"add_metric\(\s*name=\"([A-Za-z]\w+)\"", text))
        names.update(re.findall(r"^    metric = \"([A-Z]\w+)\"", text, re.MULTILINE))
        per_camera.update(re.findall(r"_camera_metric\(\s*\"([A-Z]\w+)\"", text))
        if "capture_cold_start_metric=True" in text:
            names.add(f"ColdStart:{path.parent.name}")
    return names, per_camera - {"CameraClockSkew"}


def _alarm_metrics(plan: DeployPlan) -> int:
    count = 0
    for logical_id in plan.of_type("AWS::CloudWatch::Alarm"):
        metrics = plan.resources[logical_id].get("Properties", {}).get("Metrics")
        count += sum(1 for m in metrics if "MetricStat" in m) if metrics else 1
    return count


def _memory_gb(plan: DeployPlan, logical_id: str) -> float:
    globals_memory = plan.template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    memory = plan.resources[logical_id].get("Properties", {}).get("MemorySize", globals_memory)
    return float(plan.resolve(memory)) / 1024


def _parameter(plan: DeployPlan, name: str, default: float) -> float:
    value = plan.parameters.get(name, default)
    return float(value) if not isinstance(value, list) else float(len([v for v in value if v]))


def _polled_queues(plan: DeployPlan) -> dict[str, str]:
    """The template's queues that an event source mapping polls: queue -> mapping (the detection queue)."""
    queues = set(plan.of_type("AWS::SQS::Queue"))
    polled = {}
    for mapping in plan.of_type("AWS::Lambda::EventSourceMapping"):
        source = re.fullmatch(r"<(\w+)\.Arn>", str(plan.properties(mapping).get("EventSourceArn", "")))
        if source and source.group(1) in queues:
            polled[source.group(1)] = mapping
    return polled


def _detection_queue_lines(plan: DeployPlan, store: Store, a: dict, queue: str, mapping: str) -> list[Line]:
    """What SQS bills for the detection queue: every request a record causes, and Lambda's poller's long polls
    on the empty queue around the clock. The queue is encrypted with SSE-SQS (no KMS requests), its records
    are far under 64 KB (one request each), and the match function's ChangeMessageVisibilityBatch runs only on
    a failed record (none counted)."""
    records = a["detection_records"]
    # Lambda's poller receives up to 10 messages a call and deletes what succeeded in one DeleteMessageBatch per
    # batch; a store's records arrive seconds apart, so a batching window mostly holds one record.
    settings = plan.properties(mapping)
    batches = max(FUNCTION_USAGE["MatchFunction"].invocations(store, a), 1.0)
    per_batch = min(records / batches, float(settings.get("BatchSize", 10)))
    calls_per_batch = math.ceil(per_batch / 10) if per_batch else 0
    receives = deletes = batches * calls_per_batch
    sends = records  # the frame-search function's SendMessage, one per searched crop
    record_requests = sends + receives + deletes
    pollers = ASSUMPTIONS["sqs_idle_pollers"].value
    idle = pollers * 60 / ASSUMPTIONS["sqs_long_poll_seconds"].value * 60 * 24 * DAYS_A_MONTH
    limited = "MaximumConcurrency" in settings.get("ScalingConfig", {})
    return [
        Line(
            f"SQS {queue} (records)",
            record_requests * P["sqs_request"],
            f"{record_requests:,.0f} requests: {sends:,.0f} SendMessage, {receives:,.0f} ReceiveMessage and "
            f"{deletes:,.0f} DeleteMessageBatch by Lambda's poller",
        ),
        Line(
            f"SQS {queue} (Lambda's idle polling)",
            idle * P["sqs_request"],
            f"{idle:,.0f} empty ReceiveMessage: {pollers:g} long polls of "
            f"{ASSUMPTIONS['sqs_long_poll_seconds'].value:g} s at a time, all month"
            + (" (not 2: MaximumConcurrency is set)" if limited else "")
            + f"; {(record_requests + idle) / 1e6:,.2f}M requests in all (an account's first 1M are free)",
            fixed=True,
        ),
    ]


def bill(store: Store, seed: int = 7) -> list[Line]:  # noqa: C901 - one line per service reads best as one list
    plan = plan_for(store)
    unknown = {r["Type"] for r in plan.resources.values()} - FREE_TYPES - BILLED_TYPES
    if unknown:
        raise KeyError(f"bench/monthly_bill.py cannot price {sorted(unknown)}: add them to BILLED_TYPES or FREE_TYPES")
    a = activity(store, seed)
    lines: list[Line] = []
    open_minutes = store.open_hours * 60 * store.open_days

    # Rekognition
    processors = len(plan.of_type("AWS::Rekognition::StreamProcessor"))
    if processors:
        minutes = open_minutes * processors
        lines.append(
            Line(
                "Rekognition stream processors",
                minutes * P["stream_face_search_minute"],
                f"{minutes:,.0f} processor-minutes (store hours on)",
            )
        )
        gb_read = store.bitrate_kbps * 125 * store.open_hours * 3600 * store.open_days * processors / 1e9
        lines.append(Line("Kinesis Video read by Rekognition", gb_read * P["kvs_consumed_gb"], f"{gb_read:,.0f} GB"))
    if "FrameSearchFunction" in plan.resources:
        lines.append(
            Line(
                "Rekognition SearchFacesByImage",
                a["searches"] * P["search_faces_by_image"],
                f"{a['searches']:,.0f} face crops searched",
            )
        )
    if plan.of_type("AWS::Rekognition::Collection"):
        faces = store.registered_people * store.photos_per_person
        lines.append(Line("Rekognition face storage", faces * P["face_storage"], f"{faces:,.0f} faces"))

    # Kinesis Video Streams: the cameras' video, round the clock
    streams = len(plan.of_type("AWS::KinesisVideo::Stream"))
    if streams:
        gb_a_month = store.bitrate_kbps * 125 * store.video_hours_a_day * 3600 * DAYS_A_MONTH * streams / 1e9
        retention = _parameter(plan, "VideoRetentionHours", 24)
        gb_stored = gb_a_month / (DAYS_A_MONTH * 24) * retention
        lines.append(
            Line(
                "Kinesis Video ingest",
                gb_a_month * P["kvs_ingested_gb"],
                f"{gb_a_month:,.0f} GB ({store.bitrate_kbps} kbit/s, {store.video_hours_a_day:g} h a day, "
                f"{streams} stream{'s' if streams > 1 else ''})",
            )
        )
        lines.append(
            Line(
                "Kinesis Video storage",
                gb_stored * P["kvs_stored_gb_month"],
                f"{gb_stored:,.1f} GB kept ({retention:g} h retention)",
            )
        )

    # The detection data stream
    for logical_id in plan.of_type("AWS::Kinesis::Stream"):
        props = plan.properties(logical_id)
        mode = props.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
        record_kb = 1.5
        gb = a["detection_records"] * record_kb / 1e6
        if mode == "ON_DEMAND":
            usd = HOURS_A_MONTH * P["kds_on_demand_stream_hour"] + gb * (
                P["kds_on_demand_ingest_gb"] + P["kds_on_demand_read_gb"]
            )
            basis = f"on-demand: {HOURS_A_MONTH} stream-hours, {gb:,.2f} GB in and out"
        else:
            shards = int(props.get("ShardCount", 1))
            usd = shards * HOURS_A_MONTH * P["kds_shard_hour"] + a["detection_records"] * P["kds_put_unit"]
            basis = f"provisioned: {shards} shard x {HOURS_A_MONTH} h, {a['detection_records']:,.0f} PUT units"
        lines.append(Line(f"Kinesis Data Streams ({logical_id})", usd, basis, fixed=True, shareable=True))

    # Lambda, X-Ray traces and the functions' logs
    invocations_total, log_gb = 0.0, 0.0
    for logical_id in plan.of_type("AWS::Serverless::Function", "AWS::Lambda::Function"):
        if logical_id not in FUNCTION_USAGE:
            raise KeyError(f"bench/monthly_bill.py has no usage for {logical_id}: add it to FUNCTION_USAGE")
        usage = FUNCTION_USAGE[logical_id]
        n = usage.invocations(store, a)
        gb_seconds = n * usage.seconds * _memory_gb(plan, logical_id)
        lines.append(
            Line(
                f"Lambda {logical_id}",
                n * P["lambda_request"] + gb_seconds * P["lambda_gb_second"],
                f"{n:,.0f} invocations x {usage.seconds:g} s at {_memory_gb(plan, logical_id) * 1024:.0f} MB",
            )
        )
        invocations_total += n
        log_gb += n * usage.log_bytes / 1e9

    # DynamoDB
    tables = plan.of_type("AWS::DynamoDB::Table")
    if tables:
        reads = a["crops"] * 0.5 + a["detection_records"] * 0.5 + _api_requests(store, a) * 2
        writes = a["crops"] + a["alerts"] * 4 + _api_requests(store, a) * 0.3 + a["store_hours_runs"] * 0.2
        gb = store.registered_people * 2e-6 + a["alerts"] * 1e-6
        pitr = [
            t
            for t in tables
            if plan.properties(t).get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
            in (True, "true")
        ]
        usd = (
            reads * P["dynamodb_read"]
            + writes * P["dynamodb_write"]
            + gb * (P["dynamodb_storage_gb_month"] + (P["dynamodb_pitr_gb_month"] if pitr else 0))
        )
        lines.append(
            Line(
                "DynamoDB (on-demand)", usd, f"{len(tables)} tables; {reads:,.0f} read units, {writes:,.0f} write units"
            )
        )

    # S3
    buckets = plan.of_type("AWS::S3::Bucket")
    if buckets:
        # Heartbeats exist in FrameSearch mode (they live next to the crops): one PUT by the camera, one GET by
        # the camera watch, a minute each.
        heartbeats = a["heartbeats"] * ("CropsBucket" in plan.resources and "CameraWatchFunction" in plan.resources)
        puts = a["crops"] + heartbeats + store.api_requests_a_day * 0.05 * DAYS_A_MONTH
        gets = a["crops"] + heartbeats
        photos_gb = store.registered_people * store.photos_per_person * 0.3e-3
        usd = puts * P["s3_put"] + gets * P["s3_get"] + photos_gb * P["s3_storage_gb_month"]
        lines.append(Line("S3", usd, f"{puts:,.0f} PUTs, {gets:,.0f} GETs, {photos_gb:,.2f} GB of photos"))

    # SNS: one email per visit of a registered person, to every alert address
    if plan.of_type("AWS::SNS::Topic"):
        emails = a["alerts"] * store.alert_addresses
        lines.append(
            Line(
                "SNS (alert emails)",
                a["alerts"] * P["sns_publish"] + emails * P["sns_email"],
                f"{a['alerts']:,.0f} alerts to {store.alert_addresses} address(es)",
            )
        )
    polled = _polled_queues(plan)
    for queue, mapping in polled.items():
        lines += _detection_queue_lines(plan, store, a, queue, mapping)
    if set(plan.of_type("AWS::SQS::Queue")) - set(polled):
        lines.append(Line("SQS (failure queues)", 0.0, "empty unless something fails"))

    # CloudWatch: logs, custom metrics, alarms, dashboards
    log_groups = plan.of_type("AWS::Logs::LogGroup")
    if log_groups:
        log_gb += _api_requests(store, a) * 600 / 1e9  # API Gateway access log lines
        log_gb += a["store_hours_runs"] * 15 * 1500 / 1e9  # state-machine execution history, ~15 events a run
        retention_days = _parameter(plan, "LogRetentionDays", 30)
        stored = log_gb * min(retention_days, 365) / 30
        lines.append(
            Line(
                "CloudWatch Logs",
                log_gb * P["cw_logs_ingest_gb"] + stored * P["cw_logs_stored_gb_month"],
                f"{log_gb:,.2f} GB ingested, {retention_days:g} days kept",
            )
        )
    metric_names, camera_metric_names = _metric_names()
    series = len(metric_names) + len(camera_metric_names) * store.cameras
    hours_emitted = min(store.open_hours * store.open_days, HOURS_A_MONTH)
    metric_usd = series * P["cw_metric_month"] * hours_emitted / HOURS_A_MONTH
    lines.append(
        Line(
            "CloudWatch custom metrics",
            metric_usd,
            f"{series} metrics ({len(camera_metric_names)} of them per camera), sent in the {hours_emitted:,.0f} "
            "open hours",
            fixed=True,
        )
    )
    if "CameraWatchFunction" in plan.resources:
        # CameraSilent and CameraClockSkew, one series per camera, every minute of the month.
        per_camera = 2 * store.cameras
        lines.append(
            Line(
                "CloudWatch camera metrics",
                per_camera * P["cw_metric_month"],
                f"{per_camera} series (CameraSilent, CameraClockSkew per camera), all month",
                fixed=True,
            )
        )
    alarm_metrics = _alarm_metrics(plan)
    lines.append(
        Line(
            "CloudWatch alarms",
            alarm_metrics * P["cw_alarm_metric_month"],
            f"{len(plan.of_type('AWS::CloudWatch::Alarm'))} alarms watching {alarm_metrics} metrics",
            fixed=True,
        )
    )
    dashboards = len(plan.of_type("AWS::CloudWatch::Dashboard"))
    if dashboards:
        lines.append(
            Line(
                "CloudWatch dashboards",
                dashboards * P["cw_dashboard_month"],
                f"{dashboards} (an account's first 3 are free)",
                fixed=True,
                shareable=True,
            )
        )

    # KMS and X-Ray
    keys = len(plan.of_type("AWS::KMS::Key"))
    if keys:
        requests = a["alerts"] * 2 + len(tables) * 12 * HOURS_A_MONTH
        lines.append(
            Line(
                "KMS",
                keys * P["kms_key_month"] + requests * P["kms_request"],
                f"{keys} customer-managed key(s), {requests:,.0f} requests",
                fixed=True,
                shareable=True,
            )
        )
    traces = invocations_total + _api_requests(store, a)
    lines.append(Line("X-Ray", traces * P["xray_trace"], f"{traces:,.0f} traces (every request sampled)"))

    # Store hours: Step Functions and Scheduler
    machines = plan.of_type("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
    if machines:
        transitions = a["store_hours_runs"] * (RECONCILE_TRANSITIONS + CAMERA_TRANSITIONS * (store.cameras - 1))
        lines.append(
            Line(
                "Step Functions (store hours)",
                transitions * P["sfn_transition"],
                f"{a['store_hours_runs']:,.0f} runs, {transitions:,.0f} state transitions",
            )
        )
    if plan.of_type("AWS::Scheduler::Schedule"):
        lines.append(
            Line(
                "EventBridge Scheduler",
                a["store_hours_runs"] * P["scheduler_invocation"],
                f"{a['store_hours_runs']:,.0f} scheduled runs",
            )
        )

    # The staff side
    api_requests = _api_requests(store, a)
    if plan.of_type("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
        lines.append(
            Line("API Gateway (REST)", api_requests * P["apigw_rest_request"], f"{api_requests:,.0f} requests")
        )
    for logical_id in plan.of_type("AWS::WAFv2::WebACL"):
        rules = len(plan.properties(logical_id).get("Rules", []))
        usd = P["waf_web_acl_month"] + rules * P["waf_rule_month"] + api_requests * P["waf_request"]
        lines.append(Line("WAF web ACL", usd, f"1 web ACL, {rules} rules", fixed=True, shareable=True))
    for logical_id in plan.of_type("AWS::Cognito::UserPool"):
        props = plan.properties(logical_id)
        plus = props.get("UserPoolTier") == "PLUS" or props.get("UserPoolAddOns", {}).get(
            "AdvancedSecurityMode", "OFF"
        ) not in ("OFF", None)
        mau = store.staff_accounts + store.tablets
        price = P["cognito_plus_mau"] if plus else P["cognito_essentials_mau"]
        lines.append(
            Line(
                "Cognito (staff sign-in)",
                mau * price,
                f"{mau} monthly active users, {'Plus (threat protection)' if plus else 'Essentials'} plan",
                shareable=True,
            )
        )
    if plan.of_type("AWS::CloudFront::Distribution"):
        loads = store.app_loads_a_day * DAYS_A_MONTH
        usd = loads * 0.25e-3 * P["cloudfront_gb"] + loads * 20 * P["cloudfront_request"]
        lines.append(Line("CloudFront (staff app)", usd, f"{loads:,.0f} app loads, ~250 KB and 20 requests each"))
    if plan.of_type("AWS::AppSync::Api"):
        connection_minutes = store.tablets * store.open_hours * 60 * store.open_days
        operations = a["alerts"] * (1 + store.tablets) * 2 + store.tablets * 50 * store.open_days
        usd = connection_minutes * P["appsync_connection_minute"] + operations * P["appsync_event_operation"]
        lines.append(
            Line(
                "AppSync Events (tablets)",
                usd,
                f"{connection_minutes:,.0f} connection-minutes, {operations:,.0f} operations",
            )
        )
    budgets = len(plan.of_type("AWS::Budgets::Budget"))
    if budgets:
        lines.append(Line("AWS Budgets", 0.0, f"{budgets} budget (an account's first two are free)", shareable=True))
    return lines


def total(lines: list[Line]) -> float:
    return sum(line.usd for line in lines)


# ---------------------------------------------------------------------- reports
def _usd(value: float) -> str:
    return f"${value:,.2f}"


SIZES = (100, 300, 3000)


def scenarios() -> list[Store]:
    return [
        Store(visitors=v, cameras=c, mode=m) for m in ("FrameSearch", "StreamProcessor") for c in (1, 3) for v in SIZES
    ]


def summary_table(seed: int) -> tuple[str, dict[Store, list[Line]]]:
    bills = {store: bill(store, seed) for store in scenarios()}
    rows = []
    for mode in ("FrameSearch", "StreamProcessor"):
        for cameras in (1, 3):
            row = [mode, str(cameras)]
            for visitors in SIZES:
                row.append(_usd(total(bills[Store(visitors=visitors, cameras=cameras, mode=mode)])))
            rows.append(row)
    header = ["detection mode", "cameras", *(f"{v:,} visitors/day" for v in SIZES)]
    return markdown_table(header, rows), bills


def detail_table(lines: list[Line]) -> str:
    rows = [
        [line.service, _usd(line.usd), "fixed" if line.fixed else "usage", line.basis]
        for line in sorted(lines, key=lambda line: -line.usd)
    ]
    rows.append(["**Total**", f"**{_usd(total(lines))}**", "", ""])
    return markdown_table(["line", "a month", "kind", "basis"], rows)


def chain(stores: int, store: Store, seed: int) -> str:
    lines = bill(store, seed)
    per_store = total(lines)
    shareable = [line for line in lines if line.shareable]
    shared_saving = sum(line.usd for line in shareable) * (stores - 1)
    budget_lines = [line for line in lines if line.service == "AWS Budgets"]
    budget_cost = max(stores - 2, 0) * P["budget_day"] * DAYS_A_MONTH if budget_lines else 0.0
    rows = [
        ["one stack per store", _usd(per_store * stores + budget_cost), _usd(per_store + budget_cost / stores)],
        [
            "shareable lines kept once",
            _usd(per_store * stores + budget_cost - shared_saving - budget_cost),
            _usd((per_store * stores - shared_saving) / stores),
        ],
    ]
    return "\n".join(
        [
            f"### A chain of {stores:,} stores ({store.label} each)",
            "",
            markdown_table(["", "a month", "per store"], rows),
            "",
            "Grows with each store (its own camera video, face searches, functions, tables, alarms): "
            + ", ".join(line.service for line in lines if not line.shareable and line.usd >= 0.01)
            + ".",
            "",
            "Could be shared by the whole chain (one stack's worth, not one per store): "
            + ", ".join(f"{line.service} ({_usd(line.usd)} each)" for line in shareable)
            + f". AWS Budgets: every store's stack makes one budget and an account's first two are free, so "
            f"{stores:,} stores in one account pay {_usd(budget_cost)} a month for them (set MonthlySearchBudgetUSD=0 "
            "on all but one stack).",
        ]
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=100, help="stores in the chain section")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS / "monthly_bill.md")
    args = parser.parse_args(argv)
    summary, bills = summary_table(args.seed)
    typical = Store()
    typical_sp = replace(typical, mode="StreamProcessor")
    type_counts = Counter(r["Type"] for r in plan_for(typical).resources.values())
    text = "\n".join(
        [
            "## All-in AWS bill per store-month (us-east-1 list prices, no free tiers)",
            "",
            f"{typical.open_days} open days of {typical.open_hours:g} h; the camera streams video "
            f"{typical.video_hours_a_day:g} h a day at the camera's default bitrate ({REPLAY_BITRATE_KBPS} kbit/s in "
            f"FrameSearch mode, {STREAM_PROCESSOR_BITRATE_KBPS} for a stream processor); "
            f"{typical.registered_share:.0%} of visitors registered; {typical.staff_accounts} staff accounts and "
            f"{typical.tablets} counter tablets; "
            f"{typical.api_requests_a_day} staff API requests a day.",
            "",
            summary,
            "",
            f"### The typical store: {typical.label}",
            "",
            detail_table(bills[typical]),
            "",
            f"### The same store in StreamProcessor mode: {_usd(total(bills[typical_sp]))}",
            "",
            detail_table(bills[typical_sp]),
            "",
            chain(args.stores, typical, args.seed),
            "",
            "Resources priced (typical store): " + ", ".join(f"{n} {t}" for t, n in sorted(type_counts.items())) + ".",
            "",
            "### Prices",
            "",
            markdown_table(
                ["key", "price", "source", "read on"],
                [[key, str(price), price.source, price.read_on] for key, price in PRICES.items()],
            ),
            "",
            "### Assumptions (what AWS does for the stack that no price list counts)",
            "",
            markdown_table(
                ["key", "value", "source", "read on"],
                [[key, f"{a.value:g} {a.unit}", a.source, a.read_on] for key, a in ASSUMPTIONS.items()],
            ),
        ]
    )
    return publish(text, args.output)


if __name__ == "__main__":
    main()
