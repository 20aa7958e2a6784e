"""The local demo and the match-pipeline benchmark run end to end (small here; `make bench` prints the figures)."""

import email
from email import policy
from email.utils import parsedate_to_datetime

import pytest

from bench import demo, match_pipeline


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_demo_writes_one_readable_email_per_registered_person(tmp_path, mode):
    lines = []
    result = demo.run_demo(tmp_path, echo=lines.append, mode=mode)

    assert result.mode == mode
    assert f"DetectionMode={mode}" in "\n".join(lines)  # the demo says which mode it ran
    paths = sorted(tmp_path.glob("*.eml"))
    assert paths == result.emails
    messages = [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in paths]
    names = {"Maria Silva": "Maria Silva", "João Costa": "Joao Costa"}  # body name -> ASCII subject name
    for name, subject_name in names.items():
        [message] = [m for m in messages if subject_name in m["Subject"]]
        assert message["Subject"] == f"Greeter: {subject_name} is at the entrance ({message['Subject'][-6:-2]}%)"
        assert message["From"] == "Greeter <no-reply@sns.amazonaws.com>"
        assert message["To"] == "staff@example.com"
        assert parsedate_to_datetime(message["Date"]).tzinfo is not None
        body = message.get_content()
        assert f"{name} is at the entrance of Casa Lisboa." in body
        assert "Notes for staff:" in body
        assert [other for other in names if other != name and other in body] == []
    assert len(messages) == 2
    assert len(list((tmp_path / "frames").glob("*.jpg"))) == result.frames == len(demo.VISIT)
    appearances = sum(who in demo.PEOPLE and "blur" not in edit for shot in demo.VISIT for who, edit, *_ in shot.cast)
    if mode == "StreamProcessor":
        # Every appearance of a registered person was found in the pixels by the Rekognition fake, except the
        # motion-blurred one (under the threshold); all but the first of each person's stayed quiet.
        assert result.matched == appearances
    else:
        # The camera's detector sends a crop per face it finds (not the smallest, far faces); the frame-search
        # function searches every one in time (none stale on the demo's clock) and the match function gets
        # exactly its records.
        assert set(result.crop_outcomes) == {"CropsMatched", "CropsUnknownFace"}
        assert result.crops == result.faces == sum(result.crop_outcomes.values())
        assert result.matched == result.crop_outcomes["CropsMatched"]
        assert appearances * 0.75 <= result.matched <= appearances
    assert (result.sent, result.suppressed) == (2, result.matched - 2)


@pytest.mark.parametrize("mode", match_pipeline.MODES)
def test_benchmark_match_function_sends_one_email_per_visit_and_naive_one_per_matching_frame(mode):
    stream = match_pipeline.generate_stream(
        visits=4, returning=1, overlapping=1, walking=1, strangers=2, face_share=0.5, minutes=(0.5, 1),
        cooldown_minutes=1, seed=7, mode=mode,
    )  # fmt: skip
    assert len({visit.person_id for visit in stream.visits}) == 3  # one person comes back after the cooldown
    if mode == "FrameSearch":  # a record per face found: nothing for an empty frame, one face each
        assert {len(record.faces) for record in stream.records} == {1}
        assert len(stream.records) == sum(len(frame.faces) for frame in stream.frames)
    else:  # a record per analysed frame
        assert stream.records == stream.frames and any(not frame.faces for frame in stream.records)

    measured = match_pipeline.run(stream, repeat=2)  # the naive consumer's invocations split over two rounds
    greeter, naive = measured.total("greeter"), measured.total("naive")

    assert greeter.emails_by_visit == {visit.number: 1 for visit in stream.visits}
    assert greeter.unattributed_emails == naive.unattributed_emails == 0
    assert greeter.calls["sns.Publish"] == len(stream.visits)
    # The tablet push is an AWS call too (an HTTPS request to AppSync Events): counted, one per visit.
    assert greeter.calls["appsync.EventPublish"] == len(stream.visits)
    assert "appsync.EventPublish" not in naive.calls
    assert len(greeter.latencies_ms) == len(stream.visits)
    matching = {visit.number: stream.matching_frames(visit) for visit in stream.visits}
    assert min(matching.values()) > 1
    assert naive.emails_by_visit == matching
    assert naive.calls["dynamodb.GetItem"] == naive.calls["sns.Publish"] == sum(matching.values())
    assert greeter.records == naive.records == len(stream.records)
    assert [len(measured.greeter), len(measured.naive)] == [2, 2]

    text = match_pipeline.report(stream, measured, elapsed=1.0)
    assert f"| emails in total | {len(stream.visits)} | {naive.emails:,} |" in text
    assert f"DetectionMode={mode}" in text


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_benchmark_under_faults_loses_no_visit_and_duplicates_only_in_the_unclosable_windows(mode):
    stream = match_pipeline.faults_stream(visits=12, seed=11, mode=mode)
    result = match_pipeline.run_under_faults(stream, seed=11)
    assert result.mode == mode and result.max_retries == 8

    assert sum(result.injected.values()) > 10  # the faults did happen
    assert min(result.emails_by_visit.values()) >= 1  # none lost
    extra = sum(n - 1 for n in result.emails_by_visit.values() if n > 1)
    assert extra <= result.windows
    assert result.unattributed == 0
