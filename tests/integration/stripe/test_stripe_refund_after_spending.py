"""A refund of credits already spent still reverses them in full: a debt, refused spends, then paid by a top-up."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from nacl.signing import SigningKey

from tests.integration.fake_stripe import FakeStripe
from tests.integration.spend_support import spend, spend_body
from tests.integration.stripe_support import charge, dispute, stripe_app
from tests.integration.support import sign_in

pytestmark = pytest.mark.integration

LEDGER_KEY = "4c" * 32
ADMIN_KEY = SigningKey.generate()
ADMIN = ADMIN_KEY.verify_key.encode().hex()


@pytest.mark.parametrize("store", ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def test_a_refund_after_spending_leaves_a_debt_that_the_next_top_up_pays_first(
    fake: FakeStripe, store: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    with stripe_app(fake, url, ledger_signing_key=LEDGER_KEY, admin_public_keys=frozenset({ADMIN})) as built:
        user = sign_in(built.client)
        app = replace(built, auth=user.auth)
        admin = sign_in(app.client, ADMIN_KEY)
        payment, session = app.pending_payment("25.00")
        app.paid(payment)
        first = spend_body(user, "20.00", "order-1")
        spent = spend(app.client, user, first)
        assert spent.status_code == 201, spent.text

        refunded = app.deliver("charge.refunded", charge(session, app.fake.charge_of(session), 2500))

        assert refunded.json()["result"] == "refunded"
        wallet = app.wallet()
        assert (wallet["balance"], wallet["debt"]) == ("-20.00", "20.00")
        assert wallet["transactions"][0]["type"] == "reversal"
        assert wallet["transactions"][0]["amount"] == "25.00"  # in full, not capped at the balance
        debts = app.client.get("/api/admin/debts", headers=admin.auth).json()["items"]
        assert [(debt["user_id"], debt["balance"]) for debt in debts] == [(user.user_id, "-20.00")]
        assert "since" in debts[0]
        refused = spend(app.client, user, spend_body(user, "0.01", "order-2"))
        assert (refused.status_code, refused.json()["type"]) == (422, "/problems/insufficient-funds")
        assert refused.json()["balance"] == "-20.00"

        later, _ = app.pending_payment("30.00")
        app.paid(later)

        assert (app.balance(), app.wallet()["debt"]) == (Decimal("10.00"), "0.00")  # the debt was paid first
        assert app.client.get("/api/admin/debts", headers=admin.auth).json() == {"items": []}
        assert spend(app.client, user, spend_body(user, "10.00", "order-2")).status_code == 201
        payees = app.client.get("/api/admin/payees", headers=admin.auth).json()["items"]
        assert payees == [{"payee": "shop.example:seller-7", "balance": "30.00", "spends": 2}]
        read_back = app.client.get(f"/api/wallet/spends/{spent.json()['spend_id']}", headers=user.auth)
        replayed = spend(app.client, user, first)
        assert read_back.json() == replayed.json() == spent.json()  # the balance it left then, its receipt
        assert replayed.status_code == 200


def test_a_dispute_of_spent_credits_reverses_them_in_full(fake: FakeStripe, sqlite_url: str) -> None:
    with stripe_app(fake, sqlite_url, ledger_signing_key=LEDGER_KEY) as built:
        user = sign_in(built.client)
        mine = replace(built, auth=user.auth)
        payment, session = mine.pending_payment("10.00")
        mine.paid(payment)
        assert spend(mine.client, user, spend_body(user, "10.00", "order-1")).status_code == 201

        answer = mine.deliver("charge.dispute.created", dispute(session, mine.fake.charge_of(session)))

        assert answer.json()["result"] == "disputed"
        assert (mine.wallet()["balance"], mine.wallet()["debt"]) == ("-10.00", "10.00")
