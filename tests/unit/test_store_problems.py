"""The store's own errors answer with words for the client; their text (tables, keys, values) stays in the log."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from entrypoints.http.problems import to_problem

pytestmark = pytest.mark.unit

RAW = 'duplicate key value violates unique constraint "ledger_events_pkey" DETAIL: Key (originator_id)=(4bed6bc1)'


@pytest.mark.parametrize(("error", "status"), [(IntegrityError(RAW), 503), (OperationalError(RAW), 503)])
def test_the_stores_text_never_reaches_the_client(error: Exception, status: int) -> None:
    problem = to_problem(error)
    assert problem.status_code == status
    assert problem.detail and "ledger_events" not in problem.detail and "4bed6bc1" not in problem.detail
    assert "try again" in problem.detail
