"""Double entry (DESIGN.md decision 10): MC only ever moves from one account to another.

The accounts are the users' wallets, the payees users spend with, and one account per gateway: a top-up
takes MC from the gateway that was paid and puts it in a wallet, a reversal takes it back to that gateway,
a reinstatement brings it from there again, a spend takes it from a wallet to a payee. A gateway's account
therefore stands below zero by what was bought through it and not reversed, and the sum over all accounts
is zero after every move. Verify and replay post each move as its two legs and check that sum.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import chain

ZERO = Decimal("0.00")


class Accounts:
    """Every account's balance, by kind, and the running sum of every leg posted."""

    def __init__(self) -> None:
        self.wallets: dict[str, Decimal] = {}
        self.payees: dict[str, Decimal] = {}
        self.gateways: dict[str, Decimal] = {}
        self.total = ZERO

    def open_wallet(self, user_id: str) -> None:
        self.wallets.setdefault(user_id, ZERO)

    def from_gateway(self, gateway: str, user_id: str, amount: Decimal) -> None:
        """A top-up or a reinstatement: bought (or given back) through `gateway`."""
        self.post(self.gateways, gateway, -amount)
        self.post(self.wallets, user_id, amount)

    def to_gateway(self, user_id: str, gateway: str, amount: Decimal) -> None:
        """A reversal: refunded or disputed through `gateway`."""
        self.post(self.wallets, user_id, -amount)
        self.post(self.gateways, gateway, amount)

    def spend(self, user_id: str, payee: str, amount: Decimal) -> None:
        self.post(self.wallets, user_id, -amount)
        self.post(self.payees, payee, amount)

    def post(self, accounts: dict[str, Decimal], name: str, change: Decimal) -> None:
        """One leg: a move is balanced only when its other leg is posted too."""
        accounts[name] = accounts.get(name, ZERO) + change
        self.total += change

    @property
    def balanced(self) -> bool:
        """Every leg had its counterpart, and the accounts themselves add up to what was posted."""
        return self.total == ZERO and sum(self._balances(), ZERO) == ZERO

    def _balances(self) -> Iterator[Decimal]:
        return chain(self.wallets.values(), self.payees.values(), self.gateways.values())
