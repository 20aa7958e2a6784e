"""How face-search records reach the match function in each detection mode, checked on the translated template
(tests/translated.py: the resources and IAM CloudFormation receives after SAM's transform):
  - FrameSearch: the frame-search function sends to DetectionQueue (encrypted, TLS only, parking a record in
    MatchFailureQueue on its ninth receive); MatchFromDetectionQueue feeds the match function; no data stream;
  - StreamProcessor: the processors write to DetectionStream; MatchFromDetectionStream feeds the match function
    and sends what it gives up on to MatchFailureQueue.
Each role reaches its own mode's stream or queue, and only it."""

import pytest
from iam import Call, allows, function_policy
from stack import Stack
from translated import role_statements, translated_resources

QUEUE_READS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
STREAM_READS = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
]
# Settings Lambda accepts on a stream's event source mapping only.
STREAM_ONLY_SETTINGS = {
    "StartingPosition",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "ParallelizationFactor",
}


def _stack(mode: str) -> Stack:
    return Stack({"AlertEmails": "staff@example.com", "Cameras": "entrance,till", "DetectionMode": mode})


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def _grants(statements: list[dict], service: str) -> dict[str, set[str]]:
    """action -> every resource the Allow statements grant it on, for the actions of one service."""
    granted: dict[str, set[str]] = {}
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        for action in _listify(statement["Action"]):
            if action.split(":")[0] in (service, "*"):
                granted.setdefault(action, set()).update(_listify(statement.get("Resource", "*")))
    return granted


def _of_type(stack: Stack, kind: str) -> dict[str, dict]:
    return {
        logical_id: stack.resolve(resource.get("Properties", {}))
        for logical_id, resource in translated_resources(stack).items()
        if resource["Type"] == kind
    }


@pytest.fixture
def frame_search(aws) -> Stack:
    return _stack("FrameSearch")


@pytest.fixture
def stream_processor(aws) -> Stack:
    return _stack("StreamProcessor")


# ---------------------------------------------------------------------------------------------- FrameSearch mode
def test_frame_search_mode_has_the_detection_queue_and_no_data_stream(frame_search):
    stack = frame_search
    assert _of_type(stack, "AWS::Kinesis::Stream") == {}
    queue = _of_type(stack, "AWS::SQS::Queue")["DetectionQueue"]
    assert queue["SqsManagedSseEnabled"] is True  # encrypted at rest
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": stack.get_att("MatchFailureQueue", "Arn"),
        "maxReceiveCount": 9,  # the first delivery and 8 retries, as on the stream
    }
    # Lambda's guidance for a queue it polls: a visibility timeout of at least six times the function's timeout.
    match_timeout = translated_resources(stack)["MatchFunction"]["Properties"]["Timeout"]
    assert int(queue["VisibilityTimeout"]) >= 6 * int(match_timeout)
    # The failure queue keeps what is parked there longer than the detection queue keeps a record (a record
    # moved there keeps its first enqueue time): 14 days against the default 4.
    failure_queue = _of_type(stack, "AWS::SQS::Queue")["MatchFailureQueue"]
    assert int(failure_queue["MessageRetentionPeriod"]) > int(queue.get("MessageRetentionPeriod", 4 * 86400))


def test_frame_search_mode_detection_queue_refuses_plain_http(frame_search):
    stack = frame_search
    queue_url, queue_arn = stack.ref("DetectionQueue"), stack.get_att("DetectionQueue", "Arn")
    policies = [p for p in _of_type(stack, "AWS::SQS::QueuePolicy").values() if queue_url in p["Queues"]]
    [policy] = policies
    [deny] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "sqs:*" and deny["Resource"] == queue_arn
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The policy only denies: who may use the queue is up to the roles below.
    assert [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"] == []


def test_frame_search_mode_feeds_the_match_function_from_the_queue_only(frame_search):
    stack = frame_search
    mappings = _of_type(stack, "AWS::Lambda::EventSourceMapping")
    assert set(mappings) == {"MatchFromDetectionQueue"}
    mapping = mappings["MatchFromDetectionQueue"]
    assert mapping["FunctionName"] == stack.ref("MatchFunction")
    assert mapping["EventSourceArn"] == stack.get_att("DetectionQueue", "Arn")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Lambda's bounds: at least 2 concurrent invocations; a batch over 10 messages needs a batching window.
    assert int(mapping["ScalingConfig"]["MaximumConcurrency"]) >= 2
    assert int(mapping["BatchSize"]) <= 10 or int(mapping["MaximumBatchingWindowInSeconds"]) >= 1
    assert not STREAM_ONLY_SETTINGS & set(mapping), "Lambda refuses stream settings on a queue's mapping"
    # Nothing else triggers it: SAM makes no mapping of its own from a function event.
    assert "Events" not in translated_resources(stack)["MatchFunction"]["Properties"]
    # The function makes a failed record visible again after a short backoff, on this queue.
    assert stack.function_environment("MatchFunction")["DETECTION_QUEUE_URL"] == stack.ref("DetectionQueue")


def test_frame_search_mode_match_role_reads_the_queue_and_nothing_else_of_detection(frame_search):
    stack = frame_search
    queue = stack.get_att("DetectionQueue", "Arn")
    failure_queue = stack.get_att("MatchFailureQueue", "Arn")
    statements = function_policy(stack, "MatchFunction")

    assert _grants(statements, "sqs") == {action: {queue} for action in QUEUE_READS}
    assert _grants(statements, "kinesis") == {}
    assert not allows(statements, Call("sqs:SendMessage", failure_queue))  # the queue's redrive parks records
    assert not allows(statements, Call("sqs:SendMessage", queue))
    assert not allows(statements, Call("sqs:ReceiveMessage", failure_queue))
    # Not SAM's role for a queue-triggered function (receives on every queue of the account).
    sources = [source for source, _ in role_statements(stack, "MatchFunctionRole")]
    assert not [source for source in sources if "AWS-managed" in source]


def test_frame_search_mode_frame_search_role_sends_to_the_queue_only(frame_search):
    stack = frame_search
    queue = stack.get_att("DetectionQueue", "Arn")
    statements = function_policy(stack, "FrameSearchFunction")

    # The detection queue, and the function's own failure queue (SAM's grant for its OnFailure destination).
    assert _grants(statements, "sqs") == {"sqs:SendMessage": {queue, stack.get_att("FrameSearchFailureQueue", "Arn")}}
    assert _grants(statements, "kinesis") == {}
    assert not allows(statements, Call("sqs:SendMessage", stack.get_att("MatchFailureQueue", "Arn")))
    assert not allows(statements, Call("sqs:ReceiveMessage", queue))


def test_frame_search_mode_no_other_role_touches_the_detection_queue(frame_search):
    stack = frame_search
    queue = stack.get_att("DetectionQueue", "Arn")
    calls = [Call(action, queue) for action in [*QUEUE_READS, "sqs:SendMessage", "sqs:PurgeQueue"]]
    reaching = {
        role
        for role, resource in translated_resources(stack).items()
        if resource["Type"] == "AWS::IAM::Role"
        for call in calls
        if allows([statement for _, statement in role_statements(stack, role)], call)
    }
    assert reaching == {"MatchFunctionRole", "FrameSearchFunctionRole"}


def test_frame_search_mode_alarms_when_records_wait_on_the_queue(frame_search):
    """Lambda reports IteratorAge for stream records only: in this mode the lag alarm watches the queue."""
    stack = frame_search
    alarms = _of_type(stack, "AWS::CloudWatch::Alarm")
    assert not [name for name, alarm in alarms.items() if alarm.get("MetricName") == "IteratorAge"]
    [lag] = [alarm for alarm in alarms.values() if alarm.get("MetricName") == "ApproximateAgeOfOldestMessage"]
    assert lag["Namespace"] == "AWS/SQS"
    assert lag["Dimensions"] == [{"Name": "QueueName", "Value": stack.get_att("DetectionQueue", "QueueName")}]
    assert (lag["Statistic"], lag["ComparisonOperator"], int(lag["Threshold"])) == (
        "Maximum",
        "GreaterThanThreshold",
        60,
    )
    assert lag["AlarmActions"] == [stack.ref("OpsTopic")]


# ------------------------------------------------------------------------------------------ StreamProcessor mode
def test_stream_processor_mode_has_the_data_stream_and_no_detection_queue(stream_processor):
    stack = stream_processor
    assert set(_of_type(stack, "AWS::Kinesis::Stream")) == {"DetectionStream"}
    assert "DetectionQueue" not in _of_type(stack, "AWS::SQS::Queue")
    assert stack.function_environment("MatchFunction")["DETECTION_QUEUE_URL"] == ""  # no queue to back off on


def test_stream_processor_mode_feeds_the_match_function_from_the_stream_only(stream_processor):
    stack = stream_processor
    mappings = _of_type(stack, "AWS::Lambda::EventSourceMapping")
    assert set(mappings) == {"MatchFromDetectionStream"}
    mapping = mappings["MatchFromDetectionStream"]
    assert mapping["FunctionName"] == stack.ref("MatchFunction")
    assert mapping["EventSourceArn"] == stack.get_att("DetectionStream", "Arn")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True and int(mapping["MaximumRetryAttempts"]) == 8
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": stack.get_att("MatchFailureQueue", "Arn")}}
    assert "Events" not in translated_resources(stack)["MatchFunction"]["Properties"]


def test_stream_processor_mode_match_role_reads_the_stream_and_may_park_failed_records(stream_processor):
    stack = stream_processor
    stream = stack.get_att("DetectionStream", "Arn")
    failure_queue = stack.get_att("MatchFailureQueue", "Arn")
    statements = function_policy(stack, "MatchFunction")

    assert _grants(statements, "kinesis") == {action: {stream} for action in STREAM_READS}
    # The stream's on-failure destination sends with the function's role.
    assert _grants(statements, "sqs") == {"sqs:SendMessage": {failure_queue}}
    assert not allows(statements, Call("kinesis:PutRecord", stream))
    sources = [source for source, _ in role_statements(stack, "MatchFunctionRole")]
    assert not [source for source in sources if "AWS-managed" in source]


def test_stream_processor_mode_alarms_when_the_match_function_falls_behind_the_stream(stream_processor):
    stack = stream_processor
    alarms = _of_type(stack, "AWS::CloudWatch::Alarm")
    assert not [name for name, alarm in alarms.items() if alarm.get("MetricName") == "ApproximateAgeOfOldestMessage"]
    [lag] = [alarm for alarm in alarms.values() if alarm.get("MetricName") == "IteratorAge"]
    assert lag["Namespace"] == "AWS/Lambda"
    assert lag["Dimensions"] == [{"Name": "FunctionName", "Value": stack.ref("MatchFunction")}]
    assert int(lag["Threshold"]) == 60_000  # milliseconds
    assert lag["AlarmActions"] == [stack.ref("OpsTopic")]
