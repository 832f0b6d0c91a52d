"""Balances rebuilt from ledger lines alone, the rules that tie every credit to a payment and every spend to
its owner's signature, and the double entry that ties every move to its counterpart account.

The rules key on event names; events of other names are chained and otherwise ignored here.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from application.accounts import ZERO, Accounts
from application.ports import SignatureVerifier
from domain.canonical import canonical_json
from domain.money import CREDITS
from domain.spend import SPEND_MESSAGE_TYPE, spend_id_of

PAYMENT_INITIATED = "PaymentInitiated"
# Payment events after which the payment's credit must be in its wallet (admins confirm through these too).
CREDITING = frozenset({"PaymentConfirmed"})
# Payment events that allow credits to be taken back; `credits_reversed` says how many, when present.
REVERSING = frozenset({"PaymentRefunded", "PaymentDisputed"})
# Payment events that give reversed credits back (a dispute decided for us); `credits_reinstated` says how many.
REINSTATING = frozenset({"PaymentDisputeWon"})
WALLET_OPENED = "WalletOpened"
TOPPED_UP = "CreditsToppedUp"
REVERSED = "CreditsReversed"
REINSTATED = "CreditsReinstated"
SPENT = "CreditsSpent"
SPEND_FIELDS = ("spend_id", "payee", "order_id", "amount", "memo", "signed_at", "message", "signature")
SPEND_AMOUNT = re.compile(r"[0-9]+\.[0-9]{2}")  # as signed: MC with exactly two decimals


class LedgerProblem(Exception):
    """The first thing wrong with an export, at a line (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(slots=True)
class _Payment:
    user_id: str
    gateway: str  # whose account its credits come from, and go back to
    credits: Decimal  # what its confirmation credits: as initiated, or as admins approved it
    confirmed_on: int = 0
    credited_on: int = 0
    credited: Decimal = ZERO
    reversed: Decimal = ZERO  # every reversal, before anything was given back
    reversible: Decimal | None = ZERO  # what refunds and disputes allow back (None: they name no amount)
    reinstated: Decimal = ZERO
    reinstatable: Decimal = ZERO  # what won disputes give back


class LedgerBook:
    """Feed it every ledger line in order; it raises LedgerProblem at the first broken rule."""

    def __init__(self, signatures: SignatureVerifier) -> None:
        self.accounts = Accounts()
        self.balances = self.accounts.wallets
        self._signatures = signatures
        self._spends: dict[str, int] = {}  # spend_id: the line that recorded it
        self._payments: dict[str, _Payment] = {}
        self._wallets: dict[str, str] = {}
        # Lines whose match may still come later in the file, by payment.
        self._credit_awaits_confirmation: dict[str, int] = {}
        self._confirmation_awaits_credit: dict[str, int] = {}
        self._reversal_awaits_cause: dict[str, int] = {}
        self._reinstatement_awaits_cause: dict[str, int] = {}

    def apply(self, number: int, line: dict[str, Any]) -> None:
        kind, stream, data = line["type"], line["stream_id"], line["data"]
        if kind == PAYMENT_INITIATED:
            user, gateway = sys.intern(str(data.get("user_id"))), sys.intern(str(data.get("gateway")))
            self._payments[stream] = _Payment(user, gateway, _amount(number, data, "credits"))
        elif kind == WALLET_OPENED:
            user = sys.intern(str(data.get("user_id")))
            self._wallets[stream] = user
            self.accounts.open_wallet(user)
        elif kind == TOPPED_UP:
            self._top_up(number, self._wallet(number, stream), data)
        elif kind == REVERSED:
            self._reverse(number, self._wallet(number, stream), data)
        elif kind == REINSTATED:
            self._reinstate(number, self._wallet(number, stream), data)
        elif kind == SPENT:
            self._spend(number, self._wallet(number, stream), data)
        elif stream in self._payments:
            self._payment_event(number, kind, self._payments[stream], stream, data)

    def raise_open_problem(self) -> None:
        """At the end of the ledger: the earliest credit, confirmation or reversal left unmatched."""
        candidates = [
            (line, f"credits payment {pid}, which is never confirmed")
            for pid, line in self._credit_awaits_confirmation.items()
        ]
        candidates += [
            (line, f"confirms payment {pid}, whose credit never reaches its wallet")
            for pid, line in self._confirmation_awaits_credit.items()
        ]
        candidates += [
            (line, f"takes back credits of payment {pid} with no refund or dispute of that payment to match")
            for pid, line in self._reversal_awaits_cause.items()
        ]
        candidates += [
            (line, f"gives back credits of payment {pid} with no won dispute of that payment to match")
            for pid, line in self._reinstatement_awaits_cause.items()
        ]
        if candidates:
            raise LedgerProblem(*min(candidates))

    def raise_unbalanced(self, number: int) -> None:
        """At the end of the ledger: the accounts, summed one by one, still add up to zero."""
        if not self.accounts.balanced:
            raise LedgerProblem(number, "the accounts do not add up to zero: a move lacks its counterpart")

    def _payment_event(self, number: int, kind: str, payment: _Payment, pid: str, data: dict[str, Any]) -> None:
        if "credits" in data:
            payment.credits = _amount(number, data, "credits")
        if kind in CREDITING:
            if payment.confirmed_on:
                raise LedgerProblem(
                    number, f"confirms payment {pid} again (first confirmed on line {payment.confirmed_on})"
                )
            payment.confirmed_on = number
            if payment.credited_on:
                self._credit_awaits_confirmation.pop(pid, None)
                self._check_credit(payment.credited_on, payment, pid)
            else:
                self._confirmation_awaits_credit[pid] = number
        elif kind in REVERSING:
            if payment.reversible is not None:
                payment.reversible = (
                    payment.reversible + _amount(number, data, "credits_reversed")
                    if "credits_reversed" in data
                    else None
                )
            if payment.reversible is None or payment.reversed <= payment.reversible:
                self._reversal_awaits_cause.pop(pid, None)
        elif kind in REINSTATING:
            payment.reinstatable += _amount(number, data, "credits_reinstated")
            if payment.reinstated <= payment.reinstatable:
                self._reinstatement_awaits_cause.pop(pid, None)

    def _top_up(self, number: int, user: str, data: dict[str, Any]) -> None:
        pid, amount = str(data.get("payment_id")), _amount(number, data, "amount")
        payment = self._payments.get(pid)
        if payment is None:
            raise LedgerProblem(number, f"credits payment {pid}, which the ledger never initiated")
        if payment.user_id != user:
            raise LedgerProblem(number, f"credits user {user} for payment {pid} of user {payment.user_id}")
        _check_gateway(number, payment, pid, data)
        if payment.credited_on:
            raise LedgerProblem(number, f"credits payment {pid} a second time (first on line {payment.credited_on})")
        payment.credited_on, payment.credited = number, amount
        if payment.confirmed_on:
            self._confirmation_awaits_credit.pop(pid, None)
            self._check_credit(number, payment, pid)
        else:
            self._credit_awaits_confirmation[pid] = number
        self.accounts.from_gateway(payment.gateway, user, amount)
        self._check_balance(number, user, data)

    def _reverse(self, number: int, user: str, data: dict[str, Any]) -> None:
        pid, amount = str(data.get("payment_id")), _amount(number, data, "amount")
        payment = self._payments.get(pid)
        if payment is None or not payment.credited_on or payment.user_id != user:
            raise LedgerProblem(number, f"takes back credits of payment {pid}, which never credited user {user}")
        _check_gateway(number, payment, pid, data)
        left = payment.credited - payment.reversed + payment.reinstated
        if amount > left:
            raise LedgerProblem(number, f"takes back {amount} MC of payment {pid}, which has only {left} MC left")
        payment.reversed += amount
        if payment.reversible is not None and payment.reversed > payment.reversible:
            self._reversal_awaits_cause.setdefault(pid, number)
        self.accounts.to_gateway(user, payment.gateway, amount)
        self._check_balance(number, user, data)

    def _reinstate(self, number: int, user: str, data: dict[str, Any]) -> None:
        pid, amount = str(data.get("payment_id")), _amount(number, data, "amount")
        payment = self._payments.get(pid)
        if payment is None or not payment.credited_on or payment.user_id != user:
            raise LedgerProblem(number, f"gives back credits of payment {pid}, which never credited user {user}")
        _check_gateway(number, payment, pid, data)
        taken = payment.reversed - payment.reinstated
        if amount > taken:
            raise LedgerProblem(number, f"gives back {amount} MC of payment {pid}, which has only {taken} MC reversed")
        payment.reinstated += amount
        if payment.reinstated > payment.reinstatable:
            self._reinstatement_awaits_cause.setdefault(pid, number)
        self.accounts.from_gateway(payment.gateway, user, amount)
        self._check_balance(number, user, data)

    def _spend(self, number: int, user: str, data: dict[str, Any]) -> None:
        """The owner signed exactly this spend, once, and the balance covered it."""
        missing = [name for name in SPEND_FIELDS if not isinstance(data.get(name), str)]
        if missing:
            raise LedgerProblem(number, f"the spend lacks {', '.join(missing)} (or they are not strings)")
        text = data["amount"]
        amount = _decimal(text) if SPEND_AMOUNT.fullmatch(text) else None
        if amount is None or amount <= 0:
            raise LedgerProblem(number, f"spends {text!r}, not a positive amount of MC with exactly 2 decimals")
        self._check_signed(number, user, data)
        payee, order_id, spend_id = data["payee"], data["order_id"], data["spend_id"]
        if spend_id != str(spend_id_of(user, payee, order_id)):
            raise LedgerProblem(
                number, f"spend_id {spend_id} is not the id of user {user}'s order {order_id} with {payee}"
            )
        if spend_id in self._spends:
            raise LedgerProblem(
                number,
                f"spends user {user}'s order {order_id} with {payee} a second time (first on line {self._spends[spend_id]})",
            )
        self._spends[spend_id] = number
        balance = self.balances[user]
        if balance < amount:
            raise LedgerProblem(number, f"spends {amount} MC from a balance of {balance} MC: a spend never overdraws")
        self.accounts.spend(user, sys.intern(payee), amount)
        self._check_balance(number, user, data)

    def _check_signed(self, number: int, user: str, data: dict[str, Any]) -> None:
        """`message` is the contract's canonical JSON of the line's own fields, and the owner's key signed it."""
        expected = {
            "type": SPEND_MESSAGE_TYPE,
            "user_id": user,
            "payee": data["payee"],
            "order_id": data["order_id"],
            "amount": data["amount"],
            "currency": CREDITS,
            "memo": data["memo"],
            "signed_at": data["signed_at"],
        }
        message = data["message"]
        if message != canonical_json(expected):
            raise LedgerProblem(number, f"the spend's signed message {_differences(message, expected)}")
        if not self._signatures.verify(user, message.encode(), data["signature"]):
            raise LedgerProblem(
                number, f"the spend's signature does not verify with the key of its wallet's owner {user}"
            )

    def _check_credit(self, number: int, payment: _Payment, pid: str) -> None:
        if payment.credited != payment.credits:
            raise LedgerProblem(
                number,
                f"credits {payment.credited} MC for payment {pid}, whose confirmation credits {payment.credits} MC",
            )

    def _check_balance(self, number: int, user: str, data: dict[str, Any]) -> None:
        if self.accounts.total != ZERO:
            raise LedgerProblem(number, f"the accounts add up to {self.accounts.total} MC, not zero")
        balance = self.balances[user]
        if "balance_after" in data and _balance(number, data) != balance:
            raise LedgerProblem(
                number, f"says the balance is {data['balance_after']} MC, but the events add up to {balance} MC"
            )

    def _wallet(self, number: int, stream: str) -> str:
        user = self._wallets.get(stream)
        if user is None:
            raise LedgerProblem(number, f"moves credits in wallet {stream}, which was never opened")
        return user


def _differences(message: str, expected: dict[str, str]) -> str:
    """What the owner signed, beside what the line and its wallet say."""
    try:
        signed = json.loads(message)
    except ValueError:
        signed = None
    if not isinstance(signed, dict):
        return "is not a JSON object"
    if signed.get("user_id") != expected["user_id"]:
        return f"is user {signed.get('user_id')}'s, but the spend is in user {expected['user_id']}'s wallet"
    differing = [name for name in expected if signed.get(name) != expected[name]]
    if differing:
        first = differing[0]
        return f"says {first} {signed.get(first)!r}, but the line says {expected[first]!r}"
    return "is not the canonical JSON of the spend (other keys, spaces or key order)"


def _check_gateway(number: int, payment: _Payment, pid: str, data: dict[str, Any]) -> None:
    """A move that names its gateway (those recorded before moves did name none) names its payment's."""
    if "gateway" in data and data["gateway"] != payment.gateway:
        raise LedgerProblem(
            number, f"moves credits of payment {pid} through {data['gateway']!r}, a payment of {payment.gateway!r}"
        )


def _amount(number: int, data: dict[str, Any], name: str) -> Decimal:
    text = data.get(name)
    amount = _decimal(text) if isinstance(text, str) else None
    if amount is None or amount < 0:
        raise LedgerProblem(number, f"{name} is {text!r}, not a non-negative decimal string")
    return amount


def _balance(number: int, data: dict[str, Any]) -> Decimal:
    """`balance_after`: below zero when reversals took credits already spent (a debt)."""
    text = data.get("balance_after")
    balance = _decimal(text) if isinstance(text, str) else None
    if balance is None:
        raise LedgerProblem(number, f"balance_after is {text!r}, not a decimal string")
    return balance


@lru_cache(maxsize=65536)
def _decimal(text: str) -> Decimal | None:
    """Amounts repeat: one shared Decimal per text keeps a long ledger's state small."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None
