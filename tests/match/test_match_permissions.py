"""Every AWS call the match function makes is allowed by its policies in template.yaml, and nothing more
than its own resources is needed."""

from iam import denied


def test_match_function_calls_are_all_allowed_by_its_template_policies(recorder, faults, pipeline):
    pipeline.register("maria", "Maria Silva")
    pipeline.source.handler = recorder.recording(pipeline.app.lambda_handler)
    pipeline.visit("maria", seconds=70)  # alert, suppressions, keep-alive writes
    faults.fail("sns.Publish", "InternalError", times=3, status=500)
    pipeline.register("joao", "João Costa")
    pipeline.put(pipeline.frame([("joao", 92.0)], camera="till"), camera="till")
    pipeline.source.drain()

    actions = {call.action for call in recorder.calls}
    # TransactWriteItems is authorised per item: UpdateItem on the visits table and on the visit history.
    assert {"dynamodb:BatchGetItem", "dynamodb:UpdateItem", "sns:Publish"} <= actions
    tables = {call.resource.rsplit("/", 1)[-1] for call in recorder.calls if call.action == "dynamodb:UpdateItem"}
    assert tables == {pipeline.stack.ref("VisitsTable"), pipeline.stack.ref("VisitHistoryTable")}
    assert denied(pipeline.stack, "MatchFunction", recorder.calls) == []


def test_the_check_itself_catches_a_missing_permission(recorder, pipeline):
    """Guard against a vacuous check: a call to a resource the function was not given is denied."""
    from iam import Call

    foreign = Call("dynamodb:UpdateItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/someone-elses")
    assert denied(pipeline.stack, "MatchFunction", [foreign]) == [foreign]
    assert denied(
        pipeline.stack,
        "MatchFunction",
        [
            Call(
                "dynamodb:DeleteItem",
                f"arn:aws:dynamodb:eu-west-1:123456789012:table/{pipeline.stack.ref('VisitsTable')}",
            )
        ],
    )
