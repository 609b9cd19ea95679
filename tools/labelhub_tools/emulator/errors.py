"""API errors the emulator answers with, and the error codes it uses.

Every failure an action or the authentication step detects is raised as an
``ApiError``; the server turns it into the API 3.0 error body
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`` with HTTP 200, as
Tencent Cloud does.
"""

from __future__ import annotations

# Common API 3.0 codes.
AUTH_INVALID_AUTHORIZATION = "AuthFailure.InvalidAuthorization"
AUTH_INVALID_SECRET_ID = "AuthFailure.InvalidSecretId"  # noqa: S105 (an error code)
AUTH_SECRET_ID_NOT_FOUND = "AuthFailure.SecretIdNotFound"  # noqa: S105 (an error code)
AUTH_SIGNATURE_EXPIRE = "AuthFailure.SignatureExpire"
AUTH_SIGNATURE_FAILURE = "AuthFailure.SignatureFailure"
AUTH_TOKEN_FAILURE = "AuthFailure.TokenFailure"  # noqa: S105 (an error code)
INTERNAL_ERROR = "InternalError"
INVALID_ACTION = "InvalidAction"
INVALID_PARAMETER = "InvalidParameter"
INVALID_PARAMETER_VALUE = "InvalidParameterValue"
LIMIT_EXCEEDED = "LimitExceeded"
MISSING_PARAMETER = "MissingParameter"
NO_SUCH_VERSION = "NoSuchVersion"
REQUEST_LIMIT_EXCEEDED = "RequestLimitExceeded"
RESOURCE_NOT_FOUND = "ResourceNotFound"
UNKNOWN_PARAMETER = "UnknownParameter"
UNSUPPORTED_REGION = "UnsupportedRegion"

# Product-specific codes.
MONITOR_LIMITED_ACCESS = "LimitExceeded.LimitedAccess"
CVM_INVALID_FILTER = "InvalidFilter"
CVM_LIMIT_EXCEEDED = "InvalidParameterValue.LimitExceeded"
SCF_NAMESPACE_NOT_FOUND = "ResourceNotFound.Namespace"


class ApiError(Exception):
    """An API 3.0 error: a dotted ``code`` and a human-readable ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def missing(name: str) -> ApiError:
    """The error for a required parameter that was not sent."""
    return ApiError(MISSING_PARAMETER, f"The request is missing a required parameter `{name}`.")


def invalid_value(name: str, detail: str) -> ApiError:
    """The error for a parameter whose value is out of range or malformed."""
    return ApiError(INVALID_PARAMETER_VALUE, f"The value of parameter `{name}` is invalid: {detail}")


def invalid_type(name: str, expected: str) -> ApiError:
    """The error for a parameter of the wrong JSON type."""
    return ApiError(INVALID_PARAMETER, f"The parameter `{name}` must be {expected}.")
