"""Every refusal the API can give, each with a stable machine-readable code (clients branch on `code`).

The handler turns an ApiError into its status and an ErrorBody (models.py); nothing else reaches the caller.
"""

from http import HTTPStatus


class ApiError(Exception):
    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "internal_error"

    def __init__(self, message: str, *, reasons: list[str] | None = None, person_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.reasons = reasons or []
        self.person_id = person_id


class ValidationFailed(ApiError):
    """Raised by the request validation (Powertools + Pydantic), not by the domain: listed for the OpenAPI."""

    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error"


class ConsentRequired(ValidationFailed):
    code = "consent_required"


class NotAnImage(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "not_an_image"


class TruncatedImage(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "truncated_image"


class ImageTooLarge(ApiError):
    status, code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "image_too_large"


class NoFace(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "no_face"


class SeveralFaces(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "several_faces"


class LowQuality(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "low_quality"


class FaceRotated(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "face_rotated"


class DuplicatePerson(ApiError):
    status, code = HTTPStatus.CONFLICT, "duplicate_person"


class PhotoLimitReached(ApiError):
    status, code = HTTPStatus.CONFLICT, "photo_limit_reached"


class PersonNotFound(ApiError):
    status, code = HTTPStatus.NOT_FOUND, "person_not_found"


class InvalidPageToken(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_page_token"


class InvalidDateRange(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_date_range"


class VisitNotFound(ApiError):
    status, code = HTTPStatus.NOT_FOUND, "visit_not_found"


class InvalidOverride(ApiError):
    """A store-hours override the state machine could not act on (its end in the past, too far ahead...)."""

    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_override"


class Unauthorized(ApiError):
    status, code = HTTPStatus.UNAUTHORIZED, "unauthorized"


class Forbidden(ApiError):
    """The caller's role does not allow this route (access.py); nothing was read or written."""

    status, code = HTTPStatus.FORBIDDEN, "forbidden"


class RequestInProgress(ApiError):
    status, code = HTTPStatus.CONFLICT, "request_in_progress"


class IdempotencyKeyReused(ApiError):
    status, code = HTTPStatus.UNPROCESSABLE_ENTITY, "idempotency_key_reused"


class UnsupportedMediaType(ApiError):
    status, code = HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"


class ServiceBusy(ApiError):
    """AWS throttled us or a step timed out; nothing was kept, the same request can be retried."""

    status, code = HTTPStatus.SERVICE_UNAVAILABLE, "service_busy"
