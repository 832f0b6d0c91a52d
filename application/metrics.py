"""The Metrics port's default: counts nothing (tests, one-shot commands)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal


class NoMetrics:
    def webhook_checked(self, gateway: str, verified: bool) -> None:
        pass

    def payment_confirmed(self, gateway: str) -> None:
        pass

    def credits_topped_up(self, gateway: str, amount: Decimal) -> None:
        pass

    def credits_reversed(self, gateway: str, reason: str, amount: Decimal) -> None:
        pass

    def reconciliation_ran(self, result: str, outcomes: Mapping[str, int]) -> None:
        pass

    def projection_lag(self, projection: str, events: int) -> None:
        pass

    def webhook_delivered(self, gateway: str, result: str) -> None:
        pass

    def gateway_called(self, gateway: str, operation: str, outcome: str, seconds: float) -> None:
        pass

    def clickpesa_api_called(self, call: str) -> None:
        pass

    def payments_awaiting_admin(self, counts: Mapping[str, int]) -> None:
        pass

    def credits_spent(self, amount: Decimal) -> None:
        pass

    def writer_group(self, size: int, outcome: str, conflicts: int) -> None:
        pass

    def writer_reads(self, cached: int, loaded: int) -> None:
        pass

    def writer_times(self, waited: float, read: float, decided: float, saved: float) -> None:
        pass
