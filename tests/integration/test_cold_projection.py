"""A projector with nothing folded yet, reading payments begun before its page (another process's place after a
restart, or a payment evicted from the folds), writes the rows a rebuild of the whole log writes: each such
payment is loaded as it stood before the page, all of a page's together (on PostgreSQL: one query)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence import persistence_env, sqlite_file
from application.admin import Receipt
from application.gateways import GatewayEvent, Outcome
from application.ledger import Ledger
from application.payments import TopUpOrder
from application.projection import PaymentFolds, ProjectedBatch, project
from domain.money import Money
from entrypoints.bootstrap import Services
from tests.integration.read_side_support import CAROL, Scenario, populate, read_side_services, table_rows
from tests.snapshot_histories import HISTORIES, History, OftenSnapshotted, Step

pytestmark = pytest.mark.integration

OTHER_ADMIN = "ae" * 32


def go_on(services: Services, scenario: Scenario) -> UUID:
    """Later news of payments begun before, and one payment begun and confirmed now."""
    payments = services.payments
    services.admin.confirm(OTHER_ADMIN, scenario.half_confirmed_bank, Receipt("1000.00", "USD", "statement line 3"))
    services.admin.reject(OTHER_ADMIN, scenario.in_review, "the transfer was for another account")
    more = Money.of("15.00", "USD")
    refund = GatewayEvent(
        "stripe",
        Outcome.REFUNDED,
        None,
        "stripe:pi_refunded:refunded:15.00",
        Money.of("25.00", "USD"),
        {},
        "pi_refunded",
        refunded=more,
    )
    assert payments.apply(refund) == "refunded"
    dispute = GatewayEvent(
        "stripe", Outcome.DISPUTED, None, "stripe:pi_bob:disputed", None, {}, "pi_bob", dispute="dp_1"
    )
    assert payments.apply(dispute) == "disputed"
    pending = payments.payment(scenario.pending)
    expired = GatewayEvent("clickpesa", Outcome.EXPIRED, pending.reference, "clickpesa:expired", None, {})
    assert payments.apply(expired) == "expired"
    new = payments.initiate(CAROL, TopUpOrder("5.00", "USD", "stripe")).payment
    paid = GatewayEvent(
        "stripe", Outcome.PAID, new.reference, "stripe:pi_carol:paid", Money.of("5.00", "USD"), {}, "pi_carol"
    )
    assert payments.apply(paid) == "confirmed"
    return new.payment_id


def continued(scenario: Scenario) -> list[UUID]:
    """The payments `go_on` brings news of, begun before it."""
    return [
        scenario.half_confirmed_bank,
        scenario.in_review,
        scenario.refunded,
        scenario.bobs_confirmed,
        scenario.pending,
    ]


def test_a_restarted_projector_writes_the_rows_a_rebuild_writes_loading_a_pages_payments_together(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = read_side_services(store_url)
    try:
        scenario = populate(services)
        assert services.read_side.projector.catch_up(timeout=5.0)
        begun = services.read_side.projector.store.position()
        before = {payment_id: services.ledger.payment(payment_id).version for payment_id in continued(scenario)}
        begun_now = go_on(services, scenario)
    finally:
        services.close()

    cold = read_side_services(store_url)  # a new ledger object and projector on the same store: nothing folded
    try:
        projector = cold.read_side.projector
        assert projector.store.position() == begun  # nothing projected the news since
        batched = sqlite_file(store_url) is None  # PostgreSQL: whole histories in one query, nothing loaded alone
        asked = calls(monkeypatch, cold.ledger, "as_at")
        histories = calls(monkeypatch, cold.ledger.recorder, "select_histories") if batched else []
        one_by_one = calls(monkeypatch, cold.ledger.repository, "get")

        assert projector.run_once() > 0
        projected = table_rows(store_url)

        assert asked == [((before,), {})]  # one load for the page, each payment as it stood before it
        if batched:
            assert [sorted(ids) for (ids,), _ in histories] == [sorted(before)]
            assert one_by_one == []
        else:  # one load per payment, each at its version before the page; none again while folding
            assert sorted((ids[0], kwargs["version"]) for ids, kwargs in one_by_one) == sorted(before.items())
        assert dict(projected["read_tracking"])["Ledger"] == cold.ledger.recorder.max_notification_id()
        shown = {UUID(str(row[0])): (row[4], row[-2]) for row in projected["read_payments"]}
        for payment_id in [*before, begun_now]:
            payment = cold.ledger.payment(payment_id)
            assert shown[payment_id] == (payment.status, payment.version)
        assert sorted(status for status, _ in map(shown.__getitem__, before)) == [
            "confirmed",
            "disputed",
            "expired",
            "refunded",
            "rejected",
        ]

        projector.rebuild()
        assert table_rows(store_url) == projected
    finally:
        cold.close()


def calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple[Any, ...]]:
    """Each call of `owner.name` (still made) with its arguments, from now until the test ends."""
    made: list[tuple[Any, ...]] = []
    method = getattr(owner, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        made.append((args, kwargs))
        return method(*args, **kwargs)

    monkeypatch.setattr(owner, name, recorded)
    return made


@pytest.fixture
def ledger(store_url: str) -> Iterator[OftenSnapshotted]:
    built = OftenSnapshotted(env=persistence_env(store_url))
    yield built
    built.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=HISTORIES, size=st.integers(min_value=1, max_value=9))
def test_pages_projected_with_nothing_folded_or_little_kept_equal_pages_projected_in_one_pass(
    store_url: str, ledger: OftenSnapshotted, steps: list[Step], size: int
) -> None:
    start = ledger.recorder.max_notification_id() or 0  # the examples share the store: this one's events only
    History(ledger).play(steps)
    pages = paged(start, ledger.recorder.select_notifications(start, 10_000, inclusive_of_start=False), size)
    folds, little_kept = partial(PaymentFolds, ledger), partial(PaymentFolds, ledger, kept=1)

    in_one_pass = projected(ledger, pages, folds)
    with pytest.MonkeyPatch.context() as patches:
        one_by_one = calls(patches, ledger.repository, "get")
        assert projected(ledger, pages, folds, cold=True) == in_one_pass
    if sqlite_file(store_url) is None:  # PostgreSQL: each page's payments read by `as_at`, none loaded alone
        assert one_by_one == []
    assert projected(ledger, pages, little_kept, cold=True) == in_one_pass
    assert projected(ledger, pages, little_kept) == in_one_pass


def paged(start: int, notifications: Sequence[Any], size: int) -> list[tuple[int, Sequence[Any]]]:
    """The log after `start` in pages of `size`, each with the position it follows."""
    pages = [notifications[at : at + size] for at in range(0, len(notifications), size)]
    return [(pages[n - 1][-1].id if n else start, page) for n, page in enumerate(pages)]


def projected(
    ledger: Ledger, pages: list[tuple[int, Sequence[Any]]], folds: Callable[[], PaymentFolds], cold: bool = False
) -> list[ProjectedBatch]:
    """The pages' batches, through one set of folds (`cold`: a new one for every page, nothing folded)."""
    kept = folds()
    return [project(ledger, folds() if cold else kept, after, page) for after, page in pages]
