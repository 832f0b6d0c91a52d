"""Several `mcpay serve` processes on one PostgreSQL: exactly-once crediting when every process receives every
webhook at once, and when one process is killed with SIGKILL in the middle of the load and started again while
the gateway retries whatever was not answered 200, as Stripe does."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from application.replay import check_balances, ledger_events
from tests.conftest import POSTGRES_SKIP_REASON
from tests.integration.fake_stripe import FakeStripe, running_fake_stripe
from tests.integration.serve_processes import Served, Webhook, initiate, ledger_at, serve_env, serving, sign_in
from tests.processes import free_port, fresh_schema

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

PROCESSES = 3
SENDERS = 12
RETRY_FOR_SECONDS = 60.0


@dataclass
class Cluster:
    database_url: str
    fake: FakeStripe
    servers: list[Served]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def paid_payments(self, count: int, first_amount: int = 1) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """A new user's payments, initiated through every process in turn; each one's session then paid."""
        auth = sign_in(self.urls[0])
        amounts = [f"{first_amount + n}.00" for n in range(count)]
        with ThreadPoolExecutor(SENDERS) as pool:
            payments = list(pool.map(lambda n: initiate(self.urls[n % PROCESSES], auth, amounts[n]), range(count)))
        return auth, payments

    def paid_session(self, payment: dict[str, Any]) -> dict[str, Any]:
        session_id = next(
            s["id"] for s in self.fake.sessions.values() if s["client_reference_id"] == payment["reference"]
        )
        return self.fake.complete(session_id)


@pytest.fixture(scope="module")
def cluster(postgres_server: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if postgres_server is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    logs = tmp_path_factory.mktemp("serve-logs")
    with fresh_schema(postgres_server) as url, running_fake_stripe() as fake:
        envs = [serve_env(url, free_port(), fake.url) for _ in range(PROCESSES)]
        with serving(envs, logs) as servers:
            yield Cluster(url, fake, servers)


def attempt(client: httpx.Client, webhook: Webhook, url: str) -> httpx.Response | None:
    """One delivery attempt; None when the process did not answer at all."""
    try:
        return webhook.send(client, url)
    except httpx.TransportError:
        return None


def assert_credited_exactly_once(cluster: Cluster, auth: dict[str, str], payments: Sequence[dict[str, Any]]) -> None:
    ids = {UUID(payment["payment_id"]) for payment in payments}
    expected = sum((Decimal(payment["credits"]) for payment in payments), Decimal("0.00"))
    with ledger_at(cluster.database_url) as ledger:
        credits: Counter[UUID] = Counter()
        confirmations: Counter[UUID] = Counter()
        for _, event in ledger_events(ledger):
            if type(event).__name__ == "CreditsToppedUp" and event.payment_id in ids:
                credits[event.payment_id] += 1
            elif type(event).__name__ == "PaymentConfirmed" and event.originator_id in ids:
                confirmations[event.originator_id] += 1
        assert credits == confirmations == Counter(dict.fromkeys(ids, 1))
        assert {ledger.payment(payment_id).status for payment_id in ids} == {"confirmed"}
        owner = ledger.payment(next(iter(ids))).user_id
        wallet = ledger.wallet_of(owner)
        assert wallet is not None and wallet.balance == expected
        assert all(check.agrees for check in check_balances(ledger))
    for url in cluster.urls:  # every process answers the same balance (its read model may need a moment)
        deadline = time.monotonic() + 10
        while (balance := httpx.get(f"{url}/api/wallet", headers=auth).json()["balance"]) != str(expected):
            assert time.monotonic() < deadline, (url, balance, expected)
            time.sleep(0.1)


def test_every_process_receiving_every_webhook_at_once_credits_each_payment_once(cluster: Cluster) -> None:
    auth, payments = cluster.paid_payments(12)
    webhooks = []
    for payment in payments:
        session = cluster.paid_session(payment)
        webhooks.append(Webhook.paid(payment["payment_id"], session))
        webhooks.append(Webhook.paid(payment["payment_id"], session, "checkout.session.async_payment_succeeded"))
    sends = [(webhook, url) for webhook in webhooks for url in cluster.urls]
    random.shuffle(sends)

    with httpx.Client() as client, ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(lambda send: send[0].send(client, send[1]), sends))

    assert [answer.status_code for answer in answers] == [200] * len(sends), [a.text for a in answers]
    results: dict[str, Counter[str]] = {payment["payment_id"]: Counter() for payment in payments}
    for (webhook, _), answer in zip(sends, answers, strict=True):
        results[webhook.payment_id][answer.json()["result"]] += 1
    duplicates = 2 * PROCESSES - 1
    assert all(counts == {"confirmed": 1, "duplicate": duplicates} for counts in results.values()), results
    assert_credited_exactly_once(cluster, auth, payments)


def test_eight_concurrent_credits_to_one_wallet_through_two_processes_all_answer_200(cluster: Cluster) -> None:
    """A hot wallet: the processes' groups conflict on it and are decided again from fresh reads, never a 503."""
    for _ in range(3):
        auth, payments = cluster.paid_payments(8)
        webhooks = [Webhook.paid(payment["payment_id"], cluster.paid_session(payment)) for payment in payments]
        with httpx.Client() as client, ThreadPoolExecutor(len(webhooks)) as pool:
            urls = [cluster.urls[n % 2] for n in range(len(webhooks))]
            answers = list(pool.map(Webhook.send, webhooks, [client] * len(webhooks), urls))

        assert [answer.status_code for answer in answers] == [200] * len(webhooks), [a.text for a in answers]
        assert [answer.json()["result"] for answer in answers] == ["confirmed"] * len(webhooks)
        assert_credited_exactly_once(cluster, auth, payments)


def test_a_process_killed_mid_load_loses_nothing_and_retried_deliveries_credit_once(cluster: Cluster) -> None:
    auth, payments = cluster.paid_payments(36, first_amount=100)
    victim = cluster.servers[0]
    deliveries = []
    for n, payment in enumerate(payments):
        session = cluster.paid_session(payment)
        deliveries.append((Webhook.paid(payment["payment_id"], session), cluster.urls[n % PROCESSES]))
        again = Webhook.paid(payment["payment_id"], session, "checkout.session.async_payment_succeeded")
        deliveries.append((again, cluster.urls[(n + 1) % PROCESSES]))
    answered: dict[Webhook, httpx.Response | None] = {}

    with httpx.Client() as client:
        with ThreadPoolExecutor(SENDERS) as pool:
            futures = {pool.submit(attempt, client, webhook, url): webhook for webhook, url in deliveries}
            for done, future in enumerate(as_completed(futures), start=1):
                answered[futures[future]] = future.result()
                if done == len(deliveries) // 3:
                    victim.kill()
        lost = [webhook for webhook, answer in answered.items() if answer is None or answer.status_code != 200]
        assert lost, "the kill came after the load: nothing was in flight"
        assert all(answer is None or answer.status_code in (200, 503) for answer in answered.values())

        victim.start()
        victim.wait_ready()
        acknowledged = [webhook for webhook in answered if webhook not in lost]
        assert_acknowledged_are_credited(cluster, acknowledged)
        retry_until_acknowledged(client, cluster, lost, answered)

    confirmed = Counter(
        w.payment_id for w, answer in answered.items() if answer is not None and answer.json()["result"] == "confirmed"
    )
    assert max(confirmed.values(), default=0) <= 1
    assert_credited_exactly_once(cluster, auth, payments)


def assert_acknowledged_are_credited(cluster: Cluster, acknowledged: Sequence[Webhook]) -> None:
    """A 200 is a promise to the gateway, which will not send that delivery again: it must be in the ledger."""
    with ledger_at(cluster.database_url) as ledger:
        assert {ledger.payment(UUID(webhook.payment_id)).status for webhook in acknowledged} <= {"confirmed"}


def retry_until_acknowledged(
    client: httpx.Client, cluster: Cluster, lost: list[Webhook], answered: dict[Webhook, httpx.Response | None]
) -> None:
    """The gateway's retries: every delivery without a 200 again, to any process, until each is acknowledged."""
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    pending = list(lost)
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} deliveries still not acknowledged"
        retried = [attempt(client, webhook, random.choice(cluster.urls)) for webhook in pending]
        for webhook, answer in zip(pending, retried, strict=True):
            answered[webhook] = answer
        pending = [
            webhook
            for webhook, answer in zip(pending, retried, strict=True)
            if answer is None or answer.status_code != 200
        ]
        if pending:
            time.sleep(0.5)


def test_completions_refunds_and_disputes_racing_through_every_process_end_as_their_facts_say(cluster: Cluster) -> None:
    """Stripe does not order events: each payment's completion, a partial refund, a dispute and its win arrive at
    once, at every process, in a random order (a 503 is retried, as Stripe retries); every payment ends refunded by
    the partial refund alone."""
    auth, payments = cluster.paid_payments(8, first_amount=10)
    webhooks = []
    for payment in payments:
        session = cluster.paid_session(payment)
        refunded = cluster.fake.refund(session, session["amount_total"] // 2)
        dispute = cluster.fake.open_dispute(session)
        won = cluster.fake.close_dispute(dispute["id"], "won")
        webhooks += [
            Webhook.paid(payment["payment_id"], session),
            Webhook.paid(payment["payment_id"], refunded, "charge.refunded"),
            Webhook.paid(payment["payment_id"], dispute | {"status": "needs_response"}, "charge.dispute.created"),
            Webhook.paid(payment["payment_id"], won, "charge.dispute.closed"),
        ]
    sends = [(webhook, url) for webhook in webhooks for url in cluster.urls]
    random.shuffle(sends)

    with httpx.Client() as client, ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(lambda send: delivered(client, *send), sends))

    assert [answer.status_code for answer in answers] == [200] * len(sends), [
        a.text for a in answers if a.status_code != 200
    ]
    assert "unmatched" not in {answer.json()["result"] for answer in answers}
    with ledger_at(cluster.database_url) as ledger:
        for payment in payments:
            stored = ledger.payment(UUID(payment["payment_id"]))
            assert (stored.status, stored.credits_reversed) == ("refunded", stored.credits / 2)
        assert all(check.agrees for check in check_balances(ledger))
    expected = sum((Decimal(payment["credits"]) / 2 for payment in payments), Decimal("0.00"))
    deadline = time.monotonic() + 10
    while (balance := httpx.get(f"{cluster.urls[1]}/api/wallet", headers=auth).json()["balance"]) != str(expected):
        assert time.monotonic() < deadline, (balance, expected)
        time.sleep(0.1)


def delivered(client: httpx.Client, webhook: Webhook, url: str) -> httpx.Response:
    """Sent until answered other than 503 (the one wallet of these payments is hot: a save may lose every race)."""
    for _ in range(20):
        answer = webhook.send(client, url)
        if answer.status_code != 503:
            return answer
        time.sleep(0.05)
    return answer
