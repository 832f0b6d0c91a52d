"""The application's error hierarchy; the HTTP layer maps each to one problem type."""


class ApplicationError(Exception):
    """A use case refused the request; nothing was recorded unless said otherwise."""


class NotFound(ApplicationError):
    """Unknown, or not the caller's."""


class Invalid(ApplicationError):
    """Well-formed but not acceptable (unsupported gateway or currency, below a minimum)."""


class AmountRefused(Invalid):
    """An amount as the request states it is not one of its currency: not plain decimal text, not positive, or
    with more decimal places than the currency has. (A well-formed amount outside a gateway's limits is `Invalid`.)"""


class MalformedCursor(ApplicationError):
    """A list's cursor that this list did not give out (garbled, or another list's)."""


class Malformed(ApplicationError):
    """A value of the wrong JSON type: the request itself is malformed."""


class Conflict(ApplicationError):
    """The request contradicts what is already recorded."""


class IdempotencyConflict(Conflict):
    """An Idempotency-Key was reused with another request body."""


class CheckoutInProgress(Conflict):
    """An Idempotency-Key replay came while the first request is still opening its checkout."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds after which the replay is worth sending again


class Unauthenticated(ApplicationError):
    """No valid credentials."""


class Forbidden(ApplicationError):
    """Valid credentials without the role the action needs."""


class WebhookRejected(ApplicationError):
    """A webhook failed verification or could not be read; nothing was recorded."""


class GatewayError(ApplicationError):
    """The gateway could not be used; the payment was recorded as failed."""


class GatewayUnavailable(GatewayError):
    """The gateway did not answer (network, timeout, 5xx)."""


class GatewayRefused(GatewayError):
    """The gateway answered with a refusal."""


class StoreUnavailable(ApplicationError):
    """The event store cannot be reached right now."""


class ConcurrentChange(ApplicationError):
    """Another writer saved one of the same records first (every retry too, when the use case retries): nothing of
    this change was recorded. A record that may exist only once (a used challenge) was recorded already."""


class SigningKeyMissing(ApplicationError):
    """A signed export or checkpoint was asked for, but no ledger signing key is configured."""


class UnreadableEvent(ApplicationError):
    """A stored event replay cannot read: not in the shape its type records, or about a wallet never opened."""


class Refusal(Invalid):
    """A request refused with facts the client can act on (`details`, extra fields of the problem)."""

    def __init__(self, message: str, **details: str) -> None:
        super().__init__(message)
        self.details = details


class BadSignature(Refusal):
    """A spend whose signature does not verify against the signed-in user's key over what it says."""


class StaleSignature(Refusal):
    """A spend signed too long ago, or in the future, by the server's clock."""


class InsufficientCredits(Refusal):
    """The balance does not cover the spend (a wallet in debt covers nothing); nothing was recorded."""


class OrderAlreadyUsed(Conflict):
    """A spend's order id was used, with the same payee, for another spend."""
