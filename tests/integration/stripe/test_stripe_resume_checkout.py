"""Stripe's `resume_checkout` against the fake Stripe over HTTP: the open session of the payment's reference is
found (across pages of the list), and only when there is none is a session created."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from application.gateways import CheckoutRequest
from domain.money import Money
from tests.integration.stripe_support import StripeApp

pytestmark = pytest.mark.integration


def request(reference: str) -> CheckoutRequest:
    return CheckoutRequest(uuid4(), reference, Money(Decimal("25.00"), "USD"), "25.00 Mycelium Credits")


def test_the_open_session_of_the_reference_is_found_on_a_later_page(app: StripeApp) -> None:
    gateway = app.services.gateways["stripe"]
    wanted = request("MCWANTED0001")
    made = gateway.initiate_checkout(wanted)
    for n in range(120):  # newer sessions first in the list: ours is on the second page
        gateway.initiate_checkout(request(f"MCOTHER{n:05d}"))

    resumed = gateway.resume_checkout(wanted)

    assert (resumed.payment_url, resumed.checkout_id) == (made.payment_url, made.checkout_id)
    assert len(app.fake.created()) == 121
    listed = [r for r in app.fake.requests if r.method == "GET" and r.path == "/v1/checkout/sessions"]
    assert len(listed) == 2 and all(r.form["status"] == "open" for r in listed)


def test_with_no_session_at_all_it_is_created(app: StripeApp) -> None:
    gateway = app.services.gateways["stripe"]
    resumed = gateway.resume_checkout(request("MCNEVERSENT1"))
    (session,) = app.fake.sessions.values()
    assert (resumed.payment_url, resumed.checkout_id) == (session["url"], session["id"])
    assert session["client_reference_id"] == "MCNEVERSENT1"
