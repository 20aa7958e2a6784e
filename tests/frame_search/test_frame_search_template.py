"""Frame search's wiring in template.yaml: trigger, guardrails (cap alarm, budget), snapshots, and both modes."""

import time

import pytest
from frame_search_kit import astronaut_crop
from helpers import emf_blobs
from iam import function_policy
from stack import Stack


@pytest.fixture
def template(aws):
    """template.yaml with the given parameters, its resources created on moto only as they are referenced
    (these tests read the template's wiring; they need no deployed stack)."""

    def evaluate(**parameters) -> Stack:
        return Stack({"AlertEmails": "staff@example.com", **parameters})

    return evaluate


def props(stack: Stack, logical_id: str) -> dict:
    return stack.resolve(stack.resources[logical_id]["Properties"])


def statements(stack: Stack, logical_id: str, document: str = "PolicyDocument") -> list[dict]:
    return props(stack, logical_id)[document]["Statement"]


def function_statements(stack: Stack, logical_id: str) -> list[dict]:
    return [s for policy in props(stack, logical_id)["Policies"] if "Statement" in policy for s in policy["Statement"]]


def test_crops_reach_the_function_through_an_eventbridge_rule_on_the_crops_bucket(template):
    stack = template(DetectionMode="FrameSearch")
    bucket = props(stack, "CropsBucket")
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    [rule] = props(stack, "FrameSearchFunction")["Events"].values()
    assert rule["Type"] == "EventBridgeRule"
    pattern = rule["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"] == {
        "bucket": {"name": [stack.ref("CropsBucket")]},
        "object": {"key": [{"wildcard": "crops/*.jpg"}]},
    }
    # Nothing vanishes: undeliverable events and failed invocations both land in the failure queue, alarmed.
    queue_arn = stack.get_att("FrameSearchFailureQueue", "Arn")
    assert rule["Properties"]["DeadLetterConfig"] == {"Arn": queue_arn}
    on_failure = props(stack, "FrameSearchFunction")["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": queue_arn}
    [allow_rule] = [s for s in statements(stack, "FrameSearchFailureQueuePolicy") if s["Effect"] == "Allow"]
    assert allow_rule["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow_rule["Condition"]["ArnEquals"]["aws:SourceArn"] == stack.get_att(
        "FrameSearchFunctionCropUploaded", "Arn"
    )
    assert props(stack, "FrameSearchFailuresAlarm")["AlarmActions"] == [stack.ref("OpsTopic")]


def test_the_function_may_touch_only_what_it_needs(template):
    stack = template(DetectionMode="FrameSearch")
    granted = {}
    for statement in function_policy(stack, "FrameSearchFunction"):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            granted.setdefault(action, []).append(statement["Resource"])
    granted = {
        action: resources[0] if len(resources) == 1 else sorted(resources) for action, resources in granted.items()
    }
    bucket_arn = stack.get_att("CropsBucket", "Arn")
    assert granted == {
        "dynamodb:GetItem": stack.get_att("FrameSearchStateTable", "Arn"),
        "dynamodb:UpdateItem": stack.get_att("FrameSearchStateTable", "Arn"),
        "rekognition:SearchFacesByImage": f"arn:aws:rekognition:eu-west-1:123456789012:collection/{stack.name}-faces",
        "s3:GetObject": f"{bucket_arn}/crops/*",
        "s3:DeleteObject": f"{bucket_arn}/crops/*",
        "s3:ListBucket": bucket_arn,
        # exactly this stack's cameras, not every stream named <stack>-*
        "kinesisvideo:DescribeStream": stack.get_att("entranceVideoStream", "Arn"),
        # The detection queue its records go to; and what SAM adds to the role it generates: the failure queue
        # for EventInvokeConfig's OnFailure, X-Ray (Tracing: Active) and AWSLambdaBasicExecutionRole's log writes.
        "sqs:SendMessage": sorted(
            [stack.get_att("DetectionQueue", "Arn"), stack.get_att("FrameSearchFailureQueue", "Arn")]
        ),
        **dict.fromkeys(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "*"),
        **dict.fromkeys(
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "*",
        ),
    }


def test_the_cap_alarm_watches_the_metric_the_function_emits_and_tells_ops(
    frame_search_factory, registered_factory, capsys
):
    frame_search = frame_search_factory(SearchesPerMinutePerCamera=1)
    registered_factory(frame_search)
    capsys.readouterr()
    if time.time() % 60 > 58:  # keep both crops inside one minute
        time.sleep(60 - time.time() % 60 + 0.1)
    frame_search.send(astronaut_crop())
    assert frame_search.send(astronaut_crop())["outcome"] == "CropsOverCap"

    [emitted] = [blob for blob in emf_blobs(capsys.readouterr().out) if "CropsOverCap" in blob]
    [directive] = emitted["_aws"]["CloudWatchMetrics"]
    alarm = props(frame_search.stack, "FrameSearchOverCapAlarm")
    assert alarm["MetricName"] == "CropsOverCap"
    assert alarm["Namespace"] == directive["Namespace"]
    assert {(d["Name"], d["Value"]) for d in alarm["Dimensions"]} == {
        (name, emitted[name]) for name in directive["Dimensions"][0]
    }
    assert emitted["stack"] == frame_search.stack.name  # two stores' stacks in one account don't mix
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == ("Sum", "GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [frame_search.stack.ref("OpsTopic")]


def test_the_cap_defaults_to_twice_the_cameras_own(template):
    env = template(DetectionMode="FrameSearch").function_environment("FrameSearchFunction")
    assert env["SEARCHES_PER_MINUTE_PER_CAMERA"] == "60"  # the Pi's GREETER_MAX_CROPS_PER_MINUTE is 30


def test_the_monthly_budget_watches_rekognition_and_may_notify_the_encrypted_ops_topic(template):
    stack = template(DetectionMode="FrameSearch", MonthlySearchBudgetUSD=40)
    budget = props(stack, "FrameSearchBudget")
    assert budget["Budget"]["BudgetLimit"] == {"Amount": 40, "Unit": "USD"}
    assert budget["Budget"]["CostFilters"] == {"Service": ["Amazon Rekognition"]}
    assert (budget["Budget"]["TimeUnit"], budget["Budget"]["BudgetType"]) == ("MONTHLY", "COST")
    for notification in budget["NotificationsWithSubscribers"]:
        assert notification["Subscribers"] == [{"SubscriptionType": "SNS", "Address": stack.ref("OpsTopic")}]
    # The ops topic is KMS-encrypted: Budgets needs both the topic policy and the key policy.
    [publish] = [s for s in statements(stack, "TopicsPolicy") if s.get("Sid") == "BudgetsNotifyOps"]
    assert publish["Principal"] == {"Service": "budgets.amazonaws.com"} and publish["Resource"] == stack.ref("OpsTopic")
    [key_use] = [s for s in statements(stack, "TopicKey", "KeyPolicy") if s.get("Sid") == "BudgetsPublish"]
    assert key_use["Principal"] == {"Service": "budgets.amazonaws.com"}


def test_a_zero_budget_means_no_budget_and_no_grants_for_it(template):
    stack = template(DetectionMode="FrameSearch", MonthlySearchBudgetUSD=0)
    assert "FrameSearchBudget" not in stack.resources
    assert not [s for s in statements(stack, "TopicsPolicy") if "budgets" in str(s)]
    assert not [s for s in statements(stack, "TopicKey", "KeyPolicy") if "budgets" in str(s)]


@pytest.mark.parametrize("days", [0, 3])
def test_snapshots_expire_and_only_the_match_function_may_read_them(template, days):
    stack = template(DetectionMode="FrameSearch", MatchSnapshotDays=days)
    rules = {rule["Id"]: rule for rule in props(stack, "CropsBucket")["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireCrops"]["Prefix"] == "crops/" and rules["ExpireCrops"]["ExpirationInDays"] == 1
    assert rules["ExpireSnapshots"]["Prefix"] == "snapshots/"
    assert rules["ExpireSnapshots"]["ExpirationInDays"] == max(days, 1)
    snapshots = f"{stack.get_att('CropsBucket', 'Arn')}/snapshots/*"
    # The match function has its own role: its statements as the translated template gives them.
    match_reads = [
        {k: v for k, v in s.items() if k != "Sid"}
        for s in function_policy(stack, "MatchFunction")
        if s.get("Resource") == snapshots
    ]
    search_writes = [s for s in function_statements(stack, "FrameSearchFunction") if s.get("Resource") == snapshots]
    env = stack.function_environment("FrameSearchFunction")
    if days:
        assert match_reads == [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": snapshots}]
        assert search_writes == [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": snapshots}]
        assert env["KEEP_MATCH_SNAPSHOTS"] == "true"
        assert stack.function_environment("MatchFunction")["SNAPSHOTS_BUCKET"] == stack.ref("CropsBucket")
    else:
        assert match_reads == [] and search_writes == []
        assert env["KEEP_MATCH_SNAPSHOTS"] == "false"
        assert stack.function_environment("MatchFunction")["SNAPSHOTS_BUCKET"] == ""


def test_stream_processor_mode_deploys_no_frame_search(template):
    stack = template(DetectionMode="StreamProcessor", MatchSnapshotDays=1)
    assert not [logical_id for logical_id in stack.resources if logical_id.startswith(("FrameSearch", "Crops"))]
    assert stack.function_environment("MatchFunction")["SNAPSHOTS_BUCKET"] == ""
    assert not [s for s in statements(stack, "TopicsPolicy") if "budgets" in str(s)]


def test_the_function_gets_every_configured_camera(template):
    stack = template(DetectionMode="FrameSearch", Cameras="entrance,till,back-office")
    env = stack.function_environment("FrameSearchFunction")
    assert env["CAMERAS"] == "entrance,till,back-office"
    assert env["VIDEO_STREAM_PREFIX"] == f"{stack.name}-"
    assert env["COLLECTION_ID"] == stack.ref("FaceCollection")
    assert env["DETECTION_QUEUE_URL"] == stack.ref("DetectionQueue")
    assert "DETECTION_STREAM" not in env
