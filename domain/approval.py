"""Maker-checker: when admins' confirmations of a received amount let a payment credit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.money import Money

BANK = "bank"  # the gateway whose pending payments only an admin can confirm


@dataclass(frozen=True)
class AdminApproval:
    """One admin's statement of what arrived; `credit_received` accepts it as the amount to credit."""

    admin: str
    received: Money
    credit_received: bool
    note: str | None
    at: datetime
    round: int


class Verdict(StrEnum):
    WAITING = "waiting"
    CREDIT = "credit"
    REVIEW = "review"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    amount: Money | None = None  # what to credit, when the verdict is CREDIT


def latest_by_admin(approvals: Iterable[AdminApproval]) -> list[AdminApproval]:
    """One approval per admin, their latest: the same admin twice counts once."""
    latest: dict[str, AdminApproval] = {}
    for approval in approvals:
        latest.pop(approval.admin, None)
        latest[approval.admin] = approval
    return list(latest.values())


def decide(price: Money, approvals: Iterable[AdminApproval], required: int) -> Decision:
    """Credit once `required` distinct admins agree; send to review on any disagreement or surprise."""
    counted = latest_by_admin(approvals)
    stated = {approval.received for approval in counted}
    if len(stated) > 1:
        said = ", ".join(f"{_short(a.admin)} said {a.received}" for a in counted)
        return Decision(Verdict.REVIEW, f"admins disagree on the amount received: {said}")
    if not counted:
        return Decision(Verdict.WAITING, f"0 of {required} confirmations")
    received = counted[0].received
    if received != price and not all(approval.credit_received for approval in counted):
        return Decision(Verdict.REVIEW, f"received {received} but the payment asks for {price}")
    if len(counted) < required:
        return Decision(Verdict.WAITING, f"{len(counted)} of {required} confirmations")
    return Decision(Verdict.CREDIT, f"{len(counted)} admins confirmed {received}", received)


def _short(admin: str) -> str:
    return f"{admin[:12]}…" if len(admin) > 12 else admin
