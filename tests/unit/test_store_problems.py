"""The store's errors reach the client as the application's: in words for the client, their own text in the log."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from eventsourcing import persistence
from eventsourcing.persistence import IntegrityError, OperationalError

from application.errors import ConcurrentChange, StoreUnavailable
from application.ledger import SAVE_ATTEMPTS, retry_on_conflict
from application.store_errors import store_errors
from entrypoints.http.problems import to_problem

pytestmark = pytest.mark.unit

RAW = 'duplicate key value violates unique constraint "ledger_events_pkey" DETAIL: Key (originator_id)=(4bed6bc1)'
ROOT = Path(__file__).resolve().parents[2]
# Where the library's persistence errors may be named: the stores, their one translation, and the projector (whose
# tracking record's duplicate is the library's "already applied").
STORES = {
    "application/store_errors.py",
    "application/ledger.py",
    "application/identity.py",
    "application/projection.py",
}


def translated(error: Exception) -> Exception:
    with pytest.raises((ConcurrentChange, StoreUnavailable)) as raised, store_errors("event store"):
        raise error
    return raised.value


@pytest.mark.parametrize(
    ("error", "kind", "slug"),
    [(IntegrityError(RAW), ConcurrentChange, "busy"), (OperationalError(RAW), StoreUnavailable, "store-unavailable")],
)
def test_the_stores_text_never_reaches_the_client(
    error: Exception, kind: type[Exception], slug: str, caplog: pytest.LogCaptureFixture
) -> None:
    application_error = translated(error)
    assert isinstance(application_error, kind) and application_error.__cause__ is error
    problem = to_problem(application_error)
    assert (problem.status_code, problem.type_) == (503, f"/problems/{slug}")
    assert problem.detail and "ledger_events" not in problem.detail and "4bed6bc1" not in problem.detail
    assert "try again" in problem.detail
    assert RAW in caplog.text


def test_retries_that_all_meet_a_concurrent_change_end_in_one(caplog: pytest.LogCaptureFixture) -> None:
    attempts = 0

    def always_raced() -> None:
        nonlocal attempts
        attempts += 1
        with store_errors("event store"):
            raise IntegrityError(RAW)

    with pytest.raises(ConcurrentChange, match="every retry too") as raised:
        retry_on_conflict(always_raced)
    assert attempts == SAVE_ATTEMPTS
    problem = to_problem(raised.value)
    assert problem.type_ == "/problems/busy" and problem.detail and "4bed6bc1" not in problem.detail
    assert RAW in caplog.text


def test_a_retry_that_succeeds_answers_its_result() -> None:
    attempts = 0

    def raced_once() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConcurrentChange("raced")
        return "saved"

    assert retry_on_conflict(raced_once) == "saved"
    assert attempts == 2


def test_the_library_errors_are_named_only_by_the_stores() -> None:
    errors = {name for name, value in vars(persistence).items() if _is_persistence_error(value)}
    named = {
        (str(path.relative_to(ROOT)), alias.name)
        for layer in ("application", "entrypoints", "domain")
        for path in (ROOT / layer).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "eventsourcing.persistence"
        for alias in node.names
        if alias.name in errors
    }
    assert {path for path, _ in named} <= STORES, sorted(named)
    assert ("application/store_errors.py", "IntegrityError") in named  # the scan sees what it looks for


def _is_persistence_error(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, persistence.PersistenceError)
