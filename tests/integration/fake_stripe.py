"""A fake Stripe API on localhost: Checkout Sessions over real HTTP, in Stripe's form encoding and JSON.

It answers `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`, the session list and the charge and
dispute lists of a payment intent (`GET /v1/charges`, `GET /v1/disputes`) as Stripe does (bearer key,
Idempotency-Key replays that must repeat the first request's parameters, error bodies, pages), and can be told to
fail, refuse or drop the next requests, to answer a create with an odd body, or to stall creates.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.integration.holds import Hold

API_KEY = "sk_test_fake0123456789abcdef"
IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first used with."
)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Failure:
    status: int  # 0: drop the connection without answering
    error_type: str = "api_error"
    message: str = "Something went wrong on Stripe's end."
    code: str | None = None
    create_first: bool = False  # make the session, then fail: the answer is "lost" on the way back


@dataclass(frozen=True)
class RawBody:
    """An answer sent exactly as these bytes (a 2xx in a shape Stripe never sends)."""

    data: bytes


@dataclass
class FakeStripe:
    api_key: str = API_KEY
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _failures: list[Failure] = field(default_factory=list)
    _replays: dict[str, str] = field(default_factory=dict)
    _replayed_forms: dict[str, dict[str, str]] = field(default_factory=dict)
    _odd_answers: list[bytes] = field(default_factory=list)
    hold: Hold | None = None  # creates stall until released
    hold_drops: bool = False  # a held create is then dropped unanswered and unmade: it never reached Stripe
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def fail_next(self, failure: Failure, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([failure] * times)

    def answer_next_create_with(self, body: bytes) -> None:
        """The next create is answered 200 with exactly these bytes (no session is made)."""
        with self._lock:
            self._odd_answers.append(body)

    def hold_creates(self, never_reaching: bool = False) -> Hold:
        """Creates stall until released: after making their session, or (never_reaching) dropped unmade."""
        self.hold, self.hold_drops = Hold(), never_reaching
        return self.hold

    def created(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/checkout/sessions"]

    def only_session(self) -> dict[str, Any]:
        (session,) = self.sessions.values()
        return session

    def complete(self, session_id: str, paid: bool = True) -> dict[str, Any]:
        """The payer finished the checkout (paid now, or with a delayed method: unpaid for now)."""
        session = self.sessions[session_id]
        intent, charge = f"pi_test_{secrets.token_hex(8)}", f"ch_test_{secrets.token_hex(8)}"
        self.intents[intent] = {
            "id": intent,
            "object": "payment_intent",
            "status": "succeeded" if paid else "processing",
            "latest_charge": charge,
        }
        self.charges[charge] = {
            "id": charge,
            "object": "charge",
            "amount": session["amount_total"],
            "amount_refunded": 0,
            "currency": session["currency"],
            "disputed": False,
            "payment_intent": intent,
            "refunded": False,
            "status": "succeeded",
        }
        session.update(status="complete", payment_status="paid" if paid else "unpaid", payment_intent=intent)
        return dict(session)

    def refund(self, session: dict[str, Any], amount_refunded: int) -> dict[str, Any]:
        """Refund the session's charge up to `amount_refunded` (cumulative, as Stripe counts): the Charge."""
        charge = self.charges[self.charge_of(session)]
        charge.update(amount_refunded=amount_refunded, refunded=amount_refunded == charge["amount"])
        return dict(charge)

    def open_dispute(self, session: dict[str, Any]) -> dict[str, Any]:
        """The payer disputes the session's charge: the Dispute."""
        charge = self.charges[self.charge_of(session)]
        charge["disputed"] = True
        dispute_id = f"dp_test_{secrets.token_hex(8)}"
        self.disputes[dispute_id] = {
            "id": dispute_id,
            "object": "dispute",
            "amount": charge["amount"],
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "reason": "fraudulent",
            "status": "needs_response",
        }
        return dict(self.disputes[dispute_id])

    def close_dispute(self, dispute_id: str, status: str) -> dict[str, Any]:
        self.disputes[dispute_id]["status"] = status
        return dict(self.disputes[dispute_id])

    def settle_delayed(self, session_id: str, succeeded: bool) -> dict[str, Any]:
        session = self.sessions[session_id]
        self.intents[session["payment_intent"]]["status"] = "succeeded" if succeeded else "requires_payment_method"
        if succeeded:
            session["payment_status"] = "paid"
        return dict(session)

    def expire(self, session_id: str) -> dict[str, Any]:
        self.sessions[session_id].update(status="expired")
        return dict(self.sessions[session_id])

    def charge_of(self, session: dict[str, Any]) -> str:
        return str(self.intents[session["payment_intent"]]["latest_charge"])

    # -- the HTTP side ---------------------------------------------------------------------------------------

    def answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any] | None:
        parts = urlsplit(target)
        form = dict(parse_qsl(body.decode() if method == "POST" else parts.query, keep_blank_values=True))
        with self._lock:
            self.requests.append(Recorded(method, parts.path, form, headers))
            failure = self._failures.pop(0) if self._failures else None
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, _error("invalid_request_error", "Invalid API Key provided: sk_test_****cdef")
        if method == "POST" and parts.path == "/v1/checkout/sessions":
            return self._create(form, headers.get("idempotency-key"), failure)
        if failure is not None:
            return _failure(failure)
        if method == "GET" and parts.path == "/v1/checkout/sessions":
            return self._list(form)
        if method == "GET" and parts.path.startswith("/v1/checkout/sessions/"):
            return self._retrieve(parts.path.rsplit("/", 1)[1], form)
        if method == "GET" and parts.path in ("/v1/charges", "/v1/disputes"):
            found = self.charges if parts.path == "/v1/charges" else self.disputes
            items = [dict(item) for item in found.values() if item["payment_intent"] == form.get("payment_intent")]
            return 200, {"object": "list", "data": items, "has_more": False, "url": parts.path}
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {parts.path}).")

    def _create(self, form: dict[str, str], key: str | None, failure: Failure | None) -> tuple[int, Any] | None:
        if failure is not None and not failure.create_first:
            return _failure(failure)
        with self._lock:
            odd = self._odd_answers.pop(0) if self._odd_answers else None
            replayed = self._replays.get(key or "")
            if odd is None and replayed and self._replayed_forms[key or ""] != form:
                return 400, _error("idempotency_error", IDEMPOTENCY_MISMATCH)
        if odd is not None:
            return 200, RawBody(odd)
        if self.hold is not None and self.hold_drops:
            self.hold.keep()
            return None
        with self._lock:
            session = self.sessions[replayed] if replayed else self._new_session(form)
            if key:
                self._replays[key] = session["id"]
                self._replayed_forms[key] = form
        if self.hold is not None and not self.hold_drops:
            self.hold.keep()
        return _failure(failure) if failure is not None else (200, session)

    def _list(self, query: dict[str, str]) -> tuple[int, Any]:
        """Newest first, filtered by `created[gte|lte]` and `status`, paged with `limit` and `starting_after`."""
        low, high = int(query.get("created[gte]", 0)), int(query.get("created[lte]", 2**62))
        with self._lock:
            found = [
                dict(s)
                for s in reversed(self.sessions.values())
                if low <= s["created"] <= high and query.get("status", s["status"]) == s["status"]
            ]
        after = query.get("starting_after")
        if after:
            found = found[[s["id"] for s in found].index(after) + 1 :]
        limit = int(query.get("limit", 10))
        page = {"object": "list", "url": "/v1/checkout/sessions", "data": found[:limit], "has_more": len(found) > limit}
        return 200, page

    def _new_session(self, form: dict[str, str]) -> dict[str, Any]:
        session_id = f"cs_test_{secrets.token_hex(12)}"
        unit_amount = int(form["line_items[0][price_data][unit_amount]"])
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "mode": form.get("mode"),
            "amount_total": unit_amount * int(form.get("line_items[0][quantity]", "1")),
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": {k.removeprefix("metadata[")[:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "expires_at": int(form["expires_at"]),
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "livemode": False,
            "created": int(time.time()),
        }
        self.sessions[session_id] = session
        return session

    def _retrieve(self, session_id: str, query: dict[str, str]) -> tuple[int, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            return 404, _error("invalid_request_error", f"No such checkout.session: '{session_id}'")
        answer = dict(session)
        if "payment_intent" in query.values() and session["payment_intent"]:
            answer["payment_intent"] = dict(self.intents[session["payment_intent"]])
        return 200, answer


def _error(error_type: str, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": error_type, "message": message, **({"code": code} if code else {})}}


def _failure(failure: Failure) -> tuple[int, Any] | None:
    if failure.status == 0:
        return None
    return failure.status, _error(failure.error_type, failure.message, failure.code)


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = fake.answer(method, self.path, body, headers)
            with contextlib.suppress(OSError):  # the caller may be gone (killed while its request was held)
                self._send(answer)

        def _send(self, answer: tuple[int, Any] | None) -> None:
            if answer is None:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, payload = answer
            data = payload.data if isinstance(payload, RawBody) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@contextmanager
def running_fake_stripe() -> Iterator[FakeStripe]:
    """A FakeStripe listening on a free localhost port, for as long as the block runs."""
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def unreachable_url() -> str:
    """An address where nothing listens: Stripe down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
