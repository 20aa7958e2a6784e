"""bench/monthly_bill.py prices what template.yaml deploys, and the detection stream's capacity is a choice."""

import importlib

import boto3
import pytest
from stack import ROOT, Stack, load_template


@pytest.fixture(scope="module")
def bench():
    import sys

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # as `python -m bench.monthly_bill` from the repository root
    return importlib.import_module("bench.monthly_bill")


def _every_store(bench):
    for mode in ("FrameSearch", "StreamProcessor"):
        for cameras in (1, 3, 6) if "Cameras" in load_template()["Parameters"] else (1, 3):
            yield bench.Store(visitors=300, cameras=cameras, mode=mode)


def test_every_resource_type_the_template_can_deploy_has_a_price_or_is_known_to_be_free(bench):
    declared = {resource["Type"] for resource in load_template()["Resources"].values() if "Type" in resource}
    for store in _every_store(bench):
        declared |= {resource["Type"] for resource in bench.plan_for(store).resources.values()}
    unknown = declared - bench.BILLED_TYPES - bench.FREE_TYPES
    assert not unknown, f"add a price (BILLED_TYPES and bill()) or FREE_TYPES entry for {sorted(unknown)}"
    assert not bench.BILLED_TYPES & bench.FREE_TYPES


def test_a_type_the_price_table_does_not_know_stops_the_bill_rather_than_pricing_it_at_zero(bench, monkeypatch):
    monkeypatch.setattr(bench, "FREE_TYPES", bench.FREE_TYPES - {"AWS::SNS::TopicPolicy"})
    with pytest.raises(KeyError, match="AWS::SNS::TopicPolicy"):
        bench.bill(bench.Store())


def test_every_function_of_the_template_has_a_usage_model(bench):
    for store in _every_store(bench):
        functions = bench.plan_for(store).of_type("AWS::Serverless::Function", "AWS::Lambda::Function")
        assert set(functions) <= set(bench.FUNCTION_USAGE), store.label


def test_every_price_names_its_source_and_the_day_it_was_read(bench):
    from bench.prices import PRICES

    for key, price in PRICES.items():
        assert price.usd > 0 and price.per >= 1, key
        assert "aws.amazon.com" in price.source or "AWS" in price.source, key
        assert len(price.read_on) == 10 and price.read_on.startswith("20"), key


def test_the_bill_follows_the_template_resources_camera_count_and_mode(bench):
    typical = bench.bill(bench.Store())
    services = {line.service for line in typical}
    assert "Rekognition SearchFacesByImage" in services
    assert "Rekognition stream processors" not in services  # FrameSearch deploys no processor
    assert {"Kinesis Video ingest", "CloudWatch alarms", "KMS", "Lambda MatchFunction"} <= services

    processor = bench.bill(bench.Store(mode="StreamProcessor", cameras=3))
    minutes = next(line for line in processor if line.service == "Rekognition stream processors")
    assert minutes.usd == pytest.approx(3 * 12 * 60 * 30 * 0.12)  # three processors, opening hours only
    video = next(line for line in processor if line.service == "Kinesis Video ingest")
    one_camera = next(line for line in bench.bill(bench.Store(mode="StreamProcessor")) if line.service == video.service)
    assert video.usd == pytest.approx(3 * one_camera.usd)
    assert bench.total(processor) == pytest.approx(sum(line.usd for line in processor))


def test_searches_come_from_the_camera_simulation_with_its_measured_memory_and_video_from_its_defaults(bench):
    from greeter_camera.config import REPLAY_BITRATE_KBPS

    from bench.detection_cost import CameraPolicy, StoreDay, simulate_month
    from bench.face_memory import DEFAULT_MEMORY_MINUTES  # the camera's own default

    store = bench.Store()
    policy = CameraPolicy.measured()
    month = simulate_month(StoreDay(visitors=store.visitors), policy, store.open_days, seed=7)
    searches = next(line for line in bench.bill(store) if line.service == "Rekognition SearchFacesByImage")

    assert policy.search_memory_seconds == 60 * DEFAULT_MEMORY_MINUTES and 0.5 < policy.recognised_share <= 1
    assert searches.usd == pytest.approx(sum(day.searches for day in month) * 0.001)
    alone = simulate_month(StoreDay(visitors=store.visitors), policy.without_memory, store.open_days, seed=7)
    assert sum(day.searches for day in month) < 0.8 * sum(day.searches for day in alone)
    video = next(line for line in bench.bill(store) if line.service == "Kinesis Video ingest")
    assert f"({REPLAY_BITRATE_KBPS} kbit/s" in video.basis


def test_the_detection_stream_is_billed_in_stream_processor_mode_only_one_provisioned_shard_by_default(bench):
    processor = bench.Store(mode="StreamProcessor")
    provisioned = next(line for line in bench.bill(processor) if line.service.startswith("Kinesis Data Streams"))
    assert provisioned.usd == pytest.approx(730 * 0.015 + bench.activity(processor)["detection_records"] * 0.014e-6)
    assert "provisioned: 1 shard" in provisioned.basis
    assert not [line for line in bench.bill(bench.Store()) if line.service.startswith("Kinesis Data Streams")]


def test_the_detection_queue_is_billed_per_request_a_record_causes_and_for_lambdas_idle_polling(bench):
    from bench.prices import ASSUMPTIONS

    store = bench.Store()
    records = bench.activity(store)["detection_records"]
    lines = {line.service: line for line in bench.bill(store)}
    # A record: the frame-search function's SendMessage, the poller's ReceiveMessage and DeleteMessageBatch (a
    # store's records arrive seconds apart: one to a batch).
    assert lines["SQS DetectionQueue (records)"].usd == pytest.approx(3 * records * 0.40e-6)
    assert f"{records:,.0f} SendMessage" in lines["SQS DetectionQueue (records)"].basis
    # Lambda's poller long-polls the empty queue all month: 5 polls of 20 s at a time, 15 requests a minute.
    polls = ASSUMPTIONS["sqs_idle_pollers"].value * 3 * 60 * 24 * bench.DAYS_A_MONTH
    idle = lines["SQS DetectionQueue (Lambda's idle polling)"]
    assert idle.usd == pytest.approx(polls * 0.40e-6) and idle.fixed
    assert "MaximumConcurrency" in idle.basis  # the template's ScalingConfig keeps the poller at 5
    assert lines["SQS (failure queues)"].usd == 0  # the queues no mapping polls
    assert not [line for line in bench.bill(bench.Store(mode="StreamProcessor")) if "DetectionQueue" in line.service]


def test_the_detection_queue_line_follows_the_records_a_store_sends(bench):
    def queue(store):
        return next(line for line in bench.bill(store) if line.service == "SQS DetectionQueue (records)").usd

    assert queue(bench.Store(visitors=3000)) > 5 * queue(bench.Store())
    assert queue(bench.Store(cameras=3)) == pytest.approx(3 * queue(bench.Store()))


def test_every_assumption_names_its_source_and_the_day_it_was_read(bench):
    from bench.prices import ASSUMPTIONS

    for key, assumption in ASSUMPTIONS.items():
        assert assumption.value > 0, key
        assert "aws.amazon.com" in assumption.source, key
        assert len(assumption.read_on) == 10 and assumption.read_on.startswith("20"), key


def test_the_template_builds_the_detection_stream_with_the_chosen_capacity_in_stream_processor_mode(aws):
    kinesis = boto3.client("kinesis", region_name="eu-west-1")

    def summary(**parameters):
        stack = Stack({"AlertEmails": "staff@example.com", "DetectionMode": "StreamProcessor", **parameters})
        return kinesis.describe_stream_summary(StreamName=stack.ref("DetectionStream"))["StreamDescriptionSummary"]

    one_shard = summary()
    assert one_shard["StreamModeDetails"]["StreamMode"] == "PROVISIONED"
    assert one_shard["OpenShardCount"] == 1
    assert summary(DetectionStreamCapacity="OnDemand")["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"


def test_frame_search_mode_deploys_the_detection_queue_and_no_data_stream(aws):
    kinesis = boto3.client("kinesis", region_name="eu-west-1")
    stack = Stack({"AlertEmails": "staff@example.com"}).deploy()
    assert "DetectionStream" not in stack.resources and kinesis.list_streams()["StreamNames"] == []
    attributes = boto3.client("sqs", region_name="eu-west-1").get_queue_attributes(
        QueueUrl=stack.ref("DetectionQueue"), AttributeNames=["SqsManagedSseEnabled"]
    )
    assert attributes["Attributes"]["SqsManagedSseEnabled"] == "true"  # SSE-SQS: no KMS requests to price


def test_the_report_has_every_store_size_both_modes_and_the_chain(bench, tmp_path):
    text = bench.main(["--stores", "100", "--output", str(tmp_path / "bill.md")])
    for heading in ("100 visitors/day", "300 visitors/day", "3,000 visitors/day", "A chain of 100 stores"):
        assert heading in text
    assert "| FrameSearch " in text and "| StreamProcessor " in text
    assert (tmp_path / "bill.md").read_text().strip() == text.strip()
