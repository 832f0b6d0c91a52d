"""The domain's error hierarchy: every rule the aggregates and values enforce."""


class DomainError(Exception):
    """A business rule was broken; nothing changed."""


class InvalidAmount(DomainError):
    """An amount is not a positive, finite number at its currency's precision."""


class UnsupportedCurrency(DomainError):
    """The currency is not one mcpay knows."""


class CurrencyMismatch(DomainError):
    """Two amounts in different currencies were combined."""


class TransitionNotAllowed(DomainError):
    """The payment's current status does not allow this change."""


class AlreadyCredited(TransitionNotAllowed):
    """The payment's credit is already in its wallet: a payment credits once."""


class NothingToReverse(DomainError):
    """A reversal asked for more than the payment credited, or gave back more than was taken."""


class ReasonRequired(DomainError):
    """An admin decision that needs a stated reason came without one."""


class SelfApproval(DomainError):
    """An admin tried to approve money for their own wallet: another admin must."""
