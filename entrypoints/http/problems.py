"""The one mapping from errors to RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException, ProblemDetailsPlugin

from application import errors
from domain.errors import DomainError

logger = logging.getLogger("mcpay.http")

# Most specific first: the first class the error is an instance of decides.
PROBLEMS: list[tuple[type[Exception], int, str, str]] = [
    (errors.IdempotencyConflict, 409, "idempotency-conflict", "Idempotency-Key reused"),
    (errors.CheckoutInProgress, 409, "checkout-in-progress", "Checkout still being opened"),
    (errors.OrderAlreadyUsed, 409, "order-already-used", "Order already used for another spend"),
    (errors.Conflict, 409, "conflict", "Conflict"),
    (errors.MalformedCursor, 400, "bad-cursor", "Malformed cursor"),
    (errors.Malformed, 400, "bad-request", "Malformed request"),
    (errors.NotFound, 404, "not-found", "Not found"),
    (errors.BadSignature, 422, "bad-signature", "Signature does not verify"),
    (errors.StaleSignature, 422, "stale-signature", "Signature too old or ahead of time"),
    (errors.InsufficientCredits, 422, "insufficient-funds", "Not enough credits"),
    (errors.AmountRefused, 422, "invalid-amount", "Invalid amount"),
    (errors.Invalid, 422, "invalid", "Invalid request"),
    (DomainError, 422, "invalid", "Invalid request"),
    (errors.Unauthenticated, 401, "unauthenticated", "Authentication required"),
    (errors.Forbidden, 403, "forbidden", "Forbidden"),
    (errors.WebhookRejected, 400, "webhook-rejected", "Webhook rejected"),
    (errors.GatewayUnavailable, 503, "gateway-unavailable", "Payment gateway unavailable"),
    (errors.GatewayRefused, 502, "gateway-refused", "Payment gateway refused the request"),
    (errors.StoreUnavailable, 503, "store-unavailable", "Service temporarily unavailable"),
    (errors.ConcurrentChange, 503, "busy", "Too many concurrent changes, try again"),
    (errors.SigningKeyMissing, 503, "signing-key-missing", "Ledger signing key not configured"),
]

# The application's own words for the store's errors; the store's (tables, keys, values) are in their cause.
STORE_ERRORS = (errors.StoreUnavailable, errors.ConcurrentChange)

HTTP_TITLES = {
    400: ("bad-request", "Malformed request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limited", "Too many requests"),
}


def to_problem(error: Exception) -> ProblemDetailsException:
    """The problem+json an error answers with; unexpected errors say nothing of their cause."""
    if isinstance(error, ProblemDetailsException):
        return error
    if isinstance(error, HTTPException):
        return _http_problem(error)
    for kind, status, slug, title in PROBLEMS:
        if isinstance(error, kind):
            extra = error.details if isinstance(error, errors.Refusal) else {}
            return _problem(status, slug, title, _detail(error, title), headers=_headers_of(error), **extra)
    logger.error("unhandled error", exc_info=error)
    return _problem(500, "internal", "Internal error", "an unexpected error occurred")


def _detail(error: Exception, title: str) -> str:
    """The error's own words; what the store said of it, which names tables, keys and values, for the log only."""
    if isinstance(error, STORE_ERRORS) and error.__cause__ is not None:
        logger.warning("%s: %s", error, _first_cause(error))
    return str(error) or title


def _first_cause(error: BaseException) -> BaseException:
    """What the store itself said, under the application's errors that carried it (a retry's, a translation's)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def problem_details_plugin() -> ProblemDetailsPlugin:
    mapping: dict[type[Exception], Callable[[Exception], ProblemDetailsException]] = {
        HTTPException: to_problem,
        Exception: to_problem,
    }
    return ProblemDetailsPlugin(ProblemDetailsConfig(exception_to_problem_detail_map=mapping))


def _problem(
    status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> ProblemDetailsException:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return ProblemDetailsException(
        status_code=status, type_=f"/problems/{slug}", title=title, detail=detail, headers=headers, extra=extra or None
    )


def _headers_of(error: Exception) -> dict[str, str] | None:
    if isinstance(error, errors.CheckoutInProgress):
        return {"Retry-After": str(error.retry_after)}
    return None


def _http_problem(error: HTTPException) -> ProblemDetailsException:
    status = error.status_code
    slug, title = HTTP_TITLES.get(status, ("error", "Error"))
    if status >= 500:
        logger.error("HTTP error %s", status, exc_info=error)
        return _problem(status, "internal", "Internal error", "an unexpected error occurred")
    detail = "the request body exceeds the 64 KiB limit" if status == 413 else error.detail
    extra: dict[str, Any] = {"errors": error.extra} if error.extra else {}
    return _problem(status, slug, title, detail, headers=error.headers, **extra)
