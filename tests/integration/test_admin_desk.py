"""The admin desk over HTTP: bank transfers, maker-checker, rejections, reviews and expiry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient
from nacl.signing import SigningKey

from application.admin import Receipt
from application.errors import Conflict
from application.ports import Clock
from application.replay import check_balances, ledger_events
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.integration.support import SESSION_SECRET, FakeClock

pytestmark = pytest.mark.integration

ADMIN_A = SigningKey.generate()
ADMIN_B = SigningKey.generate()
ADMIN_C = SigningKey.generate()
USER = SigningKey.generate()
Headers = dict[str, str]


def public(key: SigningKey) -> str:
    return key.verify_key.encode().hex()


@dataclass
class Desk:
    client: TestClient[Any]
    services: Services

    def sign_in(self, key: SigningKey) -> Headers:
        challenge = self.client.post("/api/auth/challenge", json={"public_key": public(key)}).json()["challenge"]
        answer = {
            "public_key": public(key),
            "challenge": challenge,
            "signature": key.sign(challenge.encode()).signature.hex(),
        }
        session = self.client.post("/api/auth/session", json=answer)
        assert session.status_code == 200, session.text
        return {"Authorization": f"Bearer {session.json()['token']}"}

    def initiate(
        self, amount: str = "1000.00", currency: str = "USD", gateway: str = "bank", payer: SigningKey = USER
    ) -> dict[str, Any]:
        body = {"amount": amount, "currency": currency, "gateway": gateway}
        answer = self.client.post("/api/payments/initiate", json=body, headers=self.sign_in(payer))
        assert answer.status_code == 201, answer.text
        payment: dict[str, Any] = answer.json()
        return payment

    def confirm(self, admin: SigningKey, payment_id: str, amount: str = "1000.00", **extra: Any) -> Any:
        body = {"received_amount": amount, "received_currency": extra.pop("currency", "USD"), **extra}
        return self.client.post(f"/api/admin/payments/{payment_id}/confirm", json=body, headers=self.sign_in(admin))

    def reject(self, admin: SigningKey, payment_id: str, reason: str = "no such transfer on the statement") -> Any:
        body = {"reason": reason}
        return self.client.post(f"/api/admin/payments/{payment_id}/reject", json=body, headers=self.sign_in(admin))

    def listed(self, payment_id: str) -> dict[str, Any]:
        items = self.client.get("/api/admin/payments", headers=self.sign_in(ADMIN_A)).json()["items"]
        [item] = [item for item in items if item["payment_id"] == payment_id]
        return dict(item)

    def balance(self, owner: SigningKey = USER) -> str:
        return str(self.client.get("/api/wallet", headers=self.sign_in(owner)).json()["balance"])

    def events(self, name: str) -> list[Any]:
        return [event for _, event in ledger_events(self.services.ledger) if type(event).__name__ == name]


def desk_settings(database_url: str = "memory:", **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "session_secret": SESSION_SECRET,
        "admin_public_keys": frozenset({public(ADMIN_A), public(ADMIN_B)}),
        "reconcile_interval_seconds": 0,
        **overrides,
    }
    return Settings(**values)


@contextmanager
def open_desk(settings: Settings, clock: Clock | None = None) -> Iterator[Desk]:
    services = bootstrap(settings, clock=clock)
    with TestClient(app=create_app(services)) as client:  # closes the services on shutdown
        yield Desk(client, services)


@pytest.fixture
def desk() -> Iterator[Desk]:
    with open_desk(desk_settings()) as opened:
        yield opened


@pytest.fixture
def two_man_desk() -> Iterator[Desk]:
    with open_desk(desk_settings(bank_confirmations_required=2)) as opened:
        yield opened


def assert_problem(answer: Any, status: int, *fragments: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    for fragment in fragments:
        assert fragment in answer.json()["detail"]


# Who may use the desk


def test_every_admin_route_is_403_for_a_user_and_401_without_a_token(desk: Desk) -> None:
    payment_id = desk.initiate()["payment_id"]
    user = desk.sign_in(USER)
    routes = [
        ("GET", "/api/admin/payments", None),
        ("GET", "/api/admin/payments?status=pending&gateway=bank", None),
        ("POST", f"/api/admin/payments/{payment_id}/confirm", {"received_amount": "1000", "received_currency": "USD"}),
        ("POST", f"/api/admin/payments/{payment_id}/reject", {"reason": "mine now"}),
    ]
    for method, path, body in routes:
        assert_problem(desk.client.request(method, path, json=body, headers=user), 403, "admin")
        assert_problem(desk.client.request(method, path, json=body), 401)
    assert desk.listed(payment_id)["status"] == "pending"
    assert desk.client.get("/api/auth/me", headers=desk.sign_in(ADMIN_B)).json()["roles"] == ["user", "admin"]


# Offering bank transfers


def test_bank_is_offered_with_its_minimum_in_every_currency_and_refuses_less(desk: Desk) -> None:
    [bank] = [g for g in desk.client.get("/api/payments/gateways").json() if g["name"] == "bank"]
    assert bank["min_amount"] == {"USD": "1000.00", "EUR": "925.93", "TZS": "2702702.71"}
    user = desk.sign_in(USER)

    def initiate(amount: str, currency: str) -> Any:
        body = {"amount": amount, "currency": currency, "gateway": "bank"}
        return desk.client.post("/api/payments/initiate", json=body, headers=user)

    assert_problem(initiate("999.99", "USD"), 422, "minimum", "1000.00 USD")
    assert_problem(initiate("925.92", "EUR"), 422, "minimum", "925.93 EUR")  # 1000 USD at EUR=1.08
    assert_problem(initiate("2702702.70", "TZS"), 422, "2702702.71 TZS")
    assert initiate("925.93", "EUR").status_code == 201


def test_a_bank_payment_carries_its_bank_details_and_the_spa_bank_page() -> None:
    live = desk_settings(
        demo_payment=False,
        public_base_url="https://pay.example.com",
        bank_name="Acme Bank",
        bank_account_name="Mycelium Ltd",
        bank_account_number="0123456789",
        bank_swift_code="ACMETZTZ",
    )
    with open_desk(live) as desk:
        offered = desk.client.get("/api/payments/gateways").json()
        assert [(g["name"], g["demo"]) for g in offered] == [("bank", False)]
        payment = desk.initiate()
    assert payment["payment_url"] == f"https://pay.example.com/#/bank/{payment['payment_id']}"
    assert payment["bank_details"] == {
        "bank_name": "Acme Bank",
        "account_name": "Mycelium Ltd",
        "account_number": "0123456789",
        "swift_code": "ACMETZTZ",
        "reference": payment["reference"],
    }


# Confirming


def test_with_one_confirmation_required_an_admin_confirmation_credits_the_wallet(desk: Desk) -> None:
    payment = desk.initiate("1500.00")
    answer = desk.confirm(ADMIN_A, payment["payment_id"], "1500.00", note="on today's statement")
    assert answer.status_code == 200, answer.text
    confirmed = answer.json()
    assert (confirmed["status"], confirmed["credits"], confirmed["user_id"]) == ("confirmed", "1500.00", public(USER))
    assert [c["admin"] for c in confirmed["confirmations"]] == [public(ADMIN_A)]
    assert desk.balance() == "1500.00"
    mine = desk.client.get(f"/api/payments/{payment['payment_id']}", headers=desk.sign_in(USER)).json()
    assert mine["status"] == "confirmed"


def test_with_two_required_the_first_confirmation_waits_and_a_second_admin_credits(two_man_desk: Desk) -> None:
    desk = two_man_desk
    payment_id = desk.initiate()["payment_id"]

    first = desk.confirm(ADMIN_A, payment_id, "1000", note="seen")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending"
    waiting = desk.listed(payment_id)
    assert (waiting["status"], waiting["awaiting_admin"], waiting["confirmations_required"]) == ("pending", True, 2)
    [confirmation] = waiting["confirmations"]
    assert confirmation["admin"] == public(ADMIN_A)
    assert (confirmation["received_amount"], confirmation["received_currency"]) == ("1000.00", "USD")
    assert (confirmation["note"], confirmation["credit_received_amount"]) == ("seen", False)
    assert confirmation["at"]
    assert desk.balance() == "0.00"

    second = desk.confirm(ADMIN_B, payment_id, "1000.00")
    assert second.json()["status"] == "confirmed"
    assert {c["admin"] for c in second.json()["confirmations"]} == {public(ADMIN_A), public(ADMIN_B)}
    assert desk.balance() == "1000.00"
    assert_problem(desk.confirm(ADMIN_A, payment_id), 409, "cannot confirm this payment: it is confirmed")
    assert desk.balance() == "1000.00"


def test_the_same_admin_confirming_twice_counts_once(two_man_desk: Desk) -> None:
    desk = two_man_desk
    payment_id = desk.initiate()["payment_id"]
    desk.confirm(ADMIN_A, payment_id)
    again = desk.confirm(ADMIN_A, payment_id)
    assert again.json()["status"] == "pending"
    assert len(again.json()["confirmations"]) == 1
    assert len(desk.events("BankTransferConfirmedByAdmin")) == 2  # both actions are on the record
    assert desk.balance() == "0.00"
    assert desk.confirm(ADMIN_B, payment_id).json()["status"] == "confirmed"


def test_admins_who_disagree_send_it_to_review_and_two_admins_resolve_it(two_man_desk: Desk) -> None:
    desk = two_man_desk
    payment_id = desk.initiate()["payment_id"]
    desk.confirm(ADMIN_A, payment_id, "1000.00")
    review = desk.confirm(ADMIN_B, payment_id, "900.00", credit_received_amount=True).json()
    assert review["status"] == "needs_review"
    assert "disagree" in review["status_reason"]
    assert review["confirmations"] == []  # a new round starts for the resolution
    assert desk.balance() == "0.00"

    assert_problem(desk.confirm(ADMIN_A, payment_id, "900.00"), 422, "note")
    half = desk.confirm(ADMIN_A, payment_id, "900.00", note="the statement shows 900")
    assert half.json()["status"] == "needs_review"
    done = desk.confirm(ADMIN_B, payment_id, "900.00", note="agreed, 900 arrived")
    assert (done.json()["status"], done.json()["credits"]) == ("confirmed", "900.00")
    assert desk.balance() == "900.00"


def test_a_received_amount_that_differs_goes_to_review_unless_explicitly_credited(desk: Desk) -> None:
    unexplained = desk.initiate("1000.00", "EUR")["payment_id"]
    review = desk.confirm(ADMIN_A, unexplained, "1100.00", currency="EUR").json()
    assert review["status"] == "needs_review"
    assert review["status_reason"] == "received 1100.00 EUR but the payment asks for 1000.00 EUR"
    assert desk.balance() == "0.00"

    accepted = desk.initiate("1000.00", "EUR")
    assert accepted["credits"] == "1080.00"
    answer = desk.confirm(ADMIN_A, accepted["payment_id"], "1100.00", currency="EUR", credit_received_amount=True)
    assert (answer.json()["status"], answer.json()["credits"]) == ("confirmed", "1188.00")  # at the locked 1.08
    assert desk.balance() == "1188.00"

    other_currency = desk.initiate()["payment_id"]
    refused = desk.confirm(ADMIN_A, other_currency, "1000.00", currency="EUR", credit_received_amount=True)
    assert_problem(refused, 422, "locked USD rate")
    assert desk.listed(other_currency)["status"] == "pending"


# Segregation of duties: no admin approves money for their own wallet


def test_an_admin_confirming_their_own_transfer_is_a_conflict_that_records_nothing(desk: Desk) -> None:
    own = desk.initiate(payer=ADMIN_A)["payment_id"]
    refused = desk.confirm(ADMIN_A, own, "1000.00", note="my own transfer")
    assert_problem(refused, 409, "own wallet", "another admin must confirm it")
    assert refused.json()["type"] == "/problems/conflict"
    listed = desk.listed(own)
    assert (listed["status"], listed["confirmations"]) == ("pending", [])
    assert desk.events("BankTransferConfirmedByAdmin") == []
    assert desk.balance(ADMIN_A) == "0.00"

    credited = desk.confirm(ADMIN_B, own, "1000.00")
    assert credited.json()["status"] == "confirmed"
    assert [c["admin"] for c in credited.json()["confirmations"]] == [public(ADMIN_B)]
    assert desk.balance(ADMIN_A) == "1000.00"


def test_the_owners_refused_confirmation_never_counts_toward_two_required() -> None:
    admins = frozenset({public(ADMIN_A), public(ADMIN_B), public(ADMIN_C)})
    with open_desk(desk_settings(bank_confirmations_required=2, admin_public_keys=admins)) as desk:
        own = desk.initiate(payer=ADMIN_A)["payment_id"]
        assert_problem(desk.confirm(ADMIN_A, own), 409, "own wallet")
        waiting = desk.confirm(ADMIN_B, own).json()
        assert (waiting["status"], [c["admin"] for c in waiting["confirmations"]]) == ("pending", [public(ADMIN_B)])
        assert_problem(desk.confirm(ADMIN_A, own), 409, "own wallet")
        assert desk.listed(own)["status"] == "pending"
        assert desk.balance(ADMIN_A) == "0.00"

        done = desk.confirm(ADMIN_C, own).json()
        assert done["status"] == "confirmed"
        assert {c["admin"] for c in done["confirmations"]} == {public(ADMIN_B), public(ADMIN_C)}
        assert desk.balance(ADMIN_A) == "1000.00"


def test_an_admin_cannot_resolve_a_review_of_their_own_payment(desk: Desk) -> None:
    own = desk.initiate("25.00", "EUR", gateway="stripe", payer=ADMIN_B)["payment_id"]
    assert deliver_mismatch(desk, own, "stripe", "20.00") == "needs_review"
    refused = desk.confirm(ADMIN_B, own, "20.00", currency="EUR", note="I know I paid 20")
    assert_problem(refused, 409, "own wallet")
    assert desk.events("ReviewCreditApprovedByAdmin") == []
    assert desk.listed(own)["status"] == "needs_review"
    assert desk.balance(ADMIN_B) == "0.00"
    resolved = desk.confirm(ADMIN_A, own, "20.00", currency="EUR", note="Stripe shows 20.00 EUR captured")
    assert resolved.json()["status"] == "confirmed"
    assert desk.balance(ADMIN_B) == "21.60"


# Rejecting, and what may not be confirmed


def test_a_rejected_transfer_records_the_reason_and_can_no_longer_be_confirmed(desk: Desk) -> None:
    payment_id = desk.initiate()["payment_id"]
    rejected = desk.reject(ADMIN_B, payment_id, "no such transfer on the statement")
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["status_reason"]) == (
        "rejected",
        "no such transfer on the statement",
    )
    conflict = desk.confirm(ADMIN_A, payment_id)
    assert_problem(conflict, 409, "cannot confirm this payment: it is rejected")
    assert conflict.json()["type"] == "/problems/conflict"
    assert_problem(desk.reject(ADMIN_A, payment_id), 409, "cannot reject this payment: it is rejected")
    assert desk.reject(ADMIN_A, desk.initiate()["payment_id"], "").status_code == 400
    assert desk.balance() == "0.00"


def test_card_payments_are_settled_by_their_gateway_and_unknown_payments_are_not_found(desk: Desk) -> None:
    card = desk.initiate("25.00", gateway="stripe")["payment_id"]
    assert_problem(desk.confirm(ADMIN_A, card, "25.00"), 409, "settled by its gateway")
    assert_problem(desk.confirm(ADMIN_A, str(UUID(int=1))), 404)
    malformed = desk.client.post(
        f"/api/admin/payments/{card}/confirm",
        json={"received_amount": "25.00", "received_currency": "USD", "credit": True},
        headers=desk.sign_in(ADMIN_A),
    )
    assert malformed.status_code == 400


def test_the_desk_lists_awaiting_bank_transfers_first_and_filters(desk: Desk) -> None:
    card = desk.initiate("25.00", gateway="stripe")["payment_id"]
    review = desk.initiate()["payment_id"]
    desk.confirm(ADMIN_A, review, "999.00")
    waiting = desk.initiate()["payment_id"]
    admin = desk.sign_in(ADMIN_A)

    items = desk.client.get("/api/admin/payments", headers=admin).json()["items"]
    assert [item["payment_id"] for item in items] == [waiting, review, card]
    assert all(item["user_id"] == public(USER) for item in items)
    assert {"payment_id", "reference", "gateway", "status", "amount", "currency", "credits"} <= set(items[0])
    assert items[0]["bank_details"]["reference"] == items[0]["reference"]

    def ids(query: str) -> list[str]:
        return [
            item["payment_id"]
            for item in desk.client.get(f"/api/admin/payments?{query}", headers=admin).json()["items"]
        ]

    assert ids("status=needs_review") == [review]
    assert ids("gateway=stripe") == [card]
    assert ids("status=pending&gateway=bank") == [waiting]
    assert_problem(desk.client.get("/api/admin/payments?status=lost", headers=admin), 422, "status must be one of")


# Expiry through reconciliation


def test_an_unconfirmed_bank_transfer_expires_through_reconciliation() -> None:
    clock = FakeClock()
    with open_desk(desk_settings(bank_confirmations_required=2), clock=clock) as desk:
        unpaid = desk.initiate()["payment_id"]
        half_confirmed = desk.initiate()["payment_id"]
        desk.confirm(ADMIN_A, half_confirmed)

        clock.advance(timedelta(days=13, hours=23))
        assert desk.services.reconciler.run_once().outcomes == {"no-news": 2}
        clock.advance(timedelta(hours=2))
        report = desk.services.reconciler.run_once()
        assert report.outcomes == {"expired": 1, "no-news": 1}

        assert desk.listed(unpaid)["status"] == "expired"
        assert desk.listed(half_confirmed)["status"] == "pending"  # an admin saw the money: it waits for the checker
        assert_problem(desk.confirm(ADMIN_B, unpaid), 409, "cannot confirm this payment: it is expired")
        assert desk.services.reconciler.run_once().outcomes == {"no-news": 1}


def test_bank_expiry_days_is_a_setting() -> None:
    clock = FakeClock()
    with open_desk(desk_settings(bank_expiry_days=3), clock=clock) as desk:
        payment_id = desk.initiate()["payment_id"]
        clock.advance(timedelta(days=3, minutes=1))
        assert desk.services.reconciler.run_once().outcomes == {"expired": 1}
        assert desk.listed(payment_id)["status"] == "expired"


# Reviews from the card and mobile-money gateways


def deliver_mismatch(desk: Desk, payment_id: str, gateway: str, paid: str) -> str:
    view = desk.services.payments.payment(UUID(payment_id))
    body, headers = desk.services.simulators[gateway].simulate(replace(view, amount=Decimal(paid)), "pay")
    answer = desk.client.post(f"/api/webhooks/{gateway}", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["result"])


def test_a_stripe_payment_in_review_is_credited_with_the_verified_amount(desk: Desk) -> None:
    payment_id = desk.initiate("25.00", "EUR", gateway="stripe")["payment_id"]
    assert deliver_mismatch(desk, payment_id, "stripe", "20.00") == "needs_review"
    listed = desk.client.get("/api/admin/payments?status=needs_review", headers=desk.sign_in(ADMIN_A)).json()
    assert [item["payment_id"] for item in listed["items"]] == [payment_id]
    assert listed["items"][0]["awaiting_admin"] is True
    assert desk.balance() == "0.00"

    assert_problem(desk.confirm(ADMIN_A, payment_id, "20.00", currency="EUR"), 422, "note")
    resolved = desk.confirm(ADMIN_A, payment_id, "20.00", currency="EUR", note="Stripe shows 20.00 EUR captured")
    assert (resolved.json()["status"], resolved.json()["credits"]) == ("confirmed", "21.60")  # 20 x 1.08, locked
    assert desk.balance() == "21.60"
    [approval] = desk.events("ReviewCreditApprovedByAdmin")
    assert (approval.admin, approval.note) == (public(ADMIN_A), "Stripe shows 20.00 EUR captured")


def test_a_clickpesa_payment_in_review_can_be_rejected_with_a_reason(desk: Desk) -> None:
    payment_id = desk.initiate("10000", "TZS", gateway="clickpesa")["payment_id"]
    assert deliver_mismatch(desk, payment_id, "clickpesa", "5000") == "needs_review"
    rejected = desk.reject(ADMIN_B, payment_id, "short payment: refund the customer by hand")
    assert (rejected.json()["status"], rejected.json()["status_reason"]) == (
        "rejected",
        "short payment: refund the customer by hand",
    )
    assert desk.balance() == "0.00"
    assert_problem(desk.confirm(ADMIN_A, payment_id, "5000", currency="TZS", note="x"), 409)


# The record


def test_every_admin_action_is_an_event_naming_the_admin(two_man_desk: Desk) -> None:
    desk = two_man_desk
    credited = desk.initiate()["payment_id"]
    desk.confirm(ADMIN_A, credited, note="first look")
    desk.confirm(ADMIN_B, credited, note="second look")
    rejected = desk.initiate()["payment_id"]
    desk.reject(ADMIN_B, rejected, "bounced")

    confirmations = desk.events("BankTransferConfirmedByAdmin")
    assert [(e.admin, e.note, e.received_amount) for e in confirmations] == [
        (public(ADMIN_A), "first look", Decimal("1000.00")),
        (public(ADMIN_B), "second look", Decimal("1000.00")),
    ]
    [approved] = desk.events("CreditApprovedByAdmins")
    assert approved.admins == [public(ADMIN_A), public(ADMIN_B)]
    assert approved.credits == Decimal("1000.00")
    [confirmed] = desk.events("PaymentConfirmed")
    assert confirmed.evidence["admins"] == f"{public(ADMIN_A)},{public(ADMIN_B)}"
    [rejection] = desk.events("PaymentRejected")
    assert (rejection.admin, rejection.reason, rejection.originator_id) == (public(ADMIN_B), "bounced", UUID(rejected))


def test_the_schema_documents_the_admin_desk(desk: Desk) -> None:
    schema = desk.client.get("/schema/openapi.json").json()
    assert {"/api/admin/payments", "/api/admin/payments/{payment_id}/confirm"} <= set(schema["paths"])
    flag = schema["components"]["schemas"]["ConfirmPayment"]["properties"]["credit_received_amount"]
    assert "locked" in flag["description"]


# The main flow on every store


@pytest.mark.parametrize("required", [1, 2])
def test_main_flow_on_every_store(database_url: str, required: int) -> None:
    with open_desk(desk_settings(database_url, bank_confirmations_required=required)) as desk:
        payment_id = desk.initiate("1200.00")["payment_id"]
        for admin in (ADMIN_A, ADMIN_B)[:required]:
            answer = desk.confirm(admin, payment_id, "1200.00")
            assert answer.status_code == 200, answer.text
        assert desk.listed(payment_id)["status"] == "confirmed"
        assert desk.balance() == "1200.00"
        rejected = desk.initiate()["payment_id"]
        assert desk.reject(ADMIN_A, rejected).json()["status"] == "rejected"
        assert_problem(desk.confirm(ADMIN_B, rejected), 409)
        assert all(check.agrees for check in check_balances(desk.services.ledger))


@pytest.mark.parametrize("required", [1, 2])
def test_two_admins_confirming_at_once_credit_exactly_once(database_url: str, required: int) -> None:
    with open_desk(desk_settings(database_url, bank_confirmations_required=required)) as desk:
        payment_id = UUID(desk.initiate()["payment_id"])
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def confirm(admin: SigningKey) -> None:
            barrier.wait()
            try:
                view = desk.services.admin.confirm(public(admin), payment_id, Receipt("1000.00", "USD"))
                outcomes.append(view.status)
            except Conflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=confirm, args=(admin,)) for admin in (ADMIN_A, ADMIN_B)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        expected = ["confirmed", "conflict"] if required == 1 else ["confirmed", "pending"]
        assert sorted(outcomes) == expected
        assert desk.balance() == "1000.00"
        assert len(desk.events("CreditsToppedUp")) == 1
