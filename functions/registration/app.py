"""Greeter's registration API: staff register, find, correct and erase people (API Gateway REST + Cognito).

Thin on purpose: routing and validation are Powertools' (routes.py), the work is in enrolment.py,
directory.py and erasure.py, AWS calls in collection.py, photo_store.py and people_store.py. This module
turns every failure into a status and a stable error code; no stack trace ever reaches the caller.
"""

import json
from http import HTTPStatus

from access import authorise
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError
from errors import (
    ApiError,
    ConsentRequired,
    IdempotencyKeyReused,
    ImageTooLarge,
    NotAnImage,
    RequestInProgress,
    ServiceBusy,
    UnsupportedMediaType,
    ValidationFailed,
)
from greeter_common.observability import logger, metrics, tracer
from models import ErrorBody, FieldProblem
from routes import router, sends_json
from store_routes import router as store_router
from visit_routes import router as visit_router
from wiring import idempotency_config

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(router)
app.include_router(visit_router)
app.include_router(store_router)

_THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalServerError",
    "ClientLimitExceededException",  # Kinesis Video's throttling
}


def _error(status: int, code: str, message: str, headers: dict | None = None, **extra) -> Response:
    body = ErrorBody(code=code, message=message, **extra).model_dump(exclude_defaults=True)
    logger.info("request refused", extra={"status": status, "code": code})
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body), headers=headers)


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response:
    headers = {"Retry-After": "2"} if isinstance(error, ServiceBusy) else None
    return _error(error.status, error.code, error.message, headers, reasons=error.reasons, person_id=error.person_id)


def _about_consent(problem: dict) -> bool:
    """A missing or invalid consent record (not a `consent` field sent where none is accepted, e.g. PATCH)."""
    loc = tuple(problem["loc"])
    return loc[:2] == ("body", "consent") and not (loc == ("body", "consent") and problem["type"] == "extra_forbidden")


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response:
    if not sends_json(app.current_event):
        return _unsupported_content(error)
    problems = error.errors()
    if any(problem["type"] == "json_invalid" for problem in problems):
        return _error(HTTPStatus.BAD_REQUEST, "invalid_json", "the request body is not valid JSON")
    # Never echo the input: it may be a photo or personal data. The location and the message say enough.
    fields = [
        FieldProblem(
            field=".".join(str(part) for part in problem["loc"][1:]) or problem["loc"][0], problem=problem["msg"]
        )
        for problem in problems
    ]
    if any(_about_consent(problem) for problem in problems):
        refusal = ConsentRequired("a complete consent record (given_by, given_at, wording_version) is required")
    else:
        refusal = ValidationFailed("the request is not valid")
    return _error(refusal.status, refusal.code, refusal.message, fields=fields)


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content(error: Exception) -> Response:
    return _api_error(UnsupportedMediaType("send application/json"))


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _in_progress(error: IdempotencyAlreadyInProgressError) -> Response:
    return _api_error(RequestInProgress("the same request is still being processed; retry in a few seconds"))


@app.exception_handler(IdempotencyValidationError)
def _key_reused(error: IdempotencyValidationError) -> Response:
    return _api_error(IdempotencyKeyReused("this Idempotency-Key was already used for a different request"))


@app.exception_handler(ClientError)
def _aws_error(error: ClientError) -> Response:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ImageTooLargeException":
        return _api_error(ImageTooLarge("Rekognition refused the image as too large"))
    if code == "InvalidImageFormatException":
        return _api_error(NotAnImage("Rekognition cannot read this image"))
    if code in _THROTTLED or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        logger.warning("AWS is busy", extra={"aws_error": code})
        return _api_error(ServiceBusy("AWS is busy; nothing was kept, retry the same request in a moment"))
    return _unexpected(error)


@app.exception_handler([ReadTimeoutError, ConnectionError])
def _aws_unreachable(error: Exception) -> Response:
    logger.warning("AWS did not answer in time", extra={"aws_error": repr(error)})
    return _api_error(ServiceBusy("AWS did not answer in time; nothing was kept, retry the same request"))


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side")


@app.not_found
def _no_route(error: NotFoundError) -> Response:
    return _error(HTTPStatus.NOT_FOUND, "not_found", "no such route")


def openapi_document() -> str:
    """The OpenAPI description, generated from the routes and models (kept as openapi.json)."""
    document = json.loads(
        app.get_openapi_json_schema(
            title="Greeter registration API",
            version="1.0.0",
            description="Staff register the customers who opted in, find, correct and erase them. Every call needs "
            "a staff ID token from the stack's Cognito user pool in the Authorization header.",
            security_schemes={
                "StaffUserPool": APIKey(
                    name="Authorization",
                    in_=APIKeyIn.header,
                    description="The ID token of a staff account in the stack's Cognito user pool.",
                )
            },
            security=[{"StaffUserPool": []}],
        )
    )
    # Every route documents its 422 as ErrorBody (routes.refusals); drop Powertools' unused default shapes.
    text = json.dumps(document["paths"])
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"/{name}" not in text:
            schemas.pop(name, None)
    return json.dumps(document, indent=2)


def _refused(error: ApiError) -> dict:
    """API Gateway's answer for a request refused before it reaches the routes."""
    body = ErrorBody(code=error.code, message=error.message).model_dump(exclude_defaults=True)
    logger.info("request refused", extra={"status": int(error.status), "code": error.code})
    return {
        "statusCode": int(error.status),
        "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


# The event is never logged, and answers (names, photo links) are kept out of X-Ray traces.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    idempotency_config.register_lambda_context(context)
    # Roles first: a route outside the caller's role is refused before validation, reads or writes.
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
    try:
        authorise(event.get("httpMethod") or "", event.get("resource") or "", claims)
    except ApiError as refusal:
        return _refused(refusal)
    return app.resolve(event, context)
