"""A fake ClickPesa reached over real HTTP on localhost, strict where ClickPesa is strict.

It checks `client-id`/`api-key`, issues real JWTs with an `exp`, accepts only a live token it
issued as `Authorization`, enforces the orderReference rules (alphanumeric, non-blank, unused),
verifies the request checksum when the account has checksums on, and answers status queries
as a JSON array. Switches make it refuse the next token once, go down, stall or refuse, answer a
checkout request with an odd body (any JSON, or raw bytes), or hold checkout requests until released.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from tests.integration.holds import Hold

CLIENT_ID = "IDtestClickPesaClient"
API_KEY = "SKtestClickPesaApiKey"
CHECKSUM_KEY = "CHKtestClickPesaChecksumKey"
INVALID_REFERENCE = "Invalid Order Reference, should only contain alphanumeric characters and cannot be blank"


def checksum_of(payload: dict[str, Any], key: str = CHECKSUM_KEY) -> str:
    """ClickPesa's canonical checksum, computed independently of mcpay's code."""
    unsigned = {name: value for name, value in payload.items() if name not in ("checksum", "checksumMethod")}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode(), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_webhook(payload: dict[str, Any], key: str = CHECKSUM_KEY) -> bytes:
    """A webhook body as ClickPesa sends it: the payload, its checksum and the method."""
    body = {**payload, "checksum": checksum_of(payload, key), "checksumMethod": "canonical"}
    return json.dumps(body, ensure_ascii=False).encode()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeClickPesa:
    checksum_key: str | None = CHECKSUM_KEY  # None: the account has checksums off
    token_ttl: float = 3600.0
    token_delay: float = 0.0  # seconds generate-token takes (to make concurrent callers overlap)
    delay: float = 0.0  # seconds every other answer takes (for timeouts)
    down: bool = False  # every endpoint answers 503
    refuse_next_token_use: bool = False  # the next authorized call gets 401 although its token is valid
    checkout_error: tuple[int, Any] | None = None  # forced answer to generate-checkout-url (bytes: sent as they are)
    hold: Hold | None = None  # checkout requests wait for its release, then are taken as usual
    token_calls: int = 0
    received: list[Received] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    url: str = ""

    def __post_init__(self) -> None:
        self._signing_key = secrets.token_hex(32)
        self._lock = threading.Lock()
        self._issued: set[str] = set()

    @property
    def checkout_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.received if r.path == "/checkout-link/generate-checkout-url"]

    def hold_checkouts(self) -> Hold:
        self.hold = Hold()
        return self.hold

    def record_payment(self, reference: str, status: str = "SUCCESS", **fields: Any) -> dict[str, Any]:
        """ClickPesa's record of a payment attempt for an order; also the `data` of its webhook."""
        order = self.orders.get(reference, {})
        record = {
            "id": f"CP{secrets.token_hex(6).upper()}",
            "status": status,
            "paymentReference": f"PR{secrets.token_hex(5).upper()}",
            "orderReference": reference,
            "collectedAmount": order.get("totalPrice", "1000.00"),
            "collectedCurrency": order.get("orderCurrency", "TZS"),
            "message": "success" if status != "FAILED" else "Insufficient balance",
            "channel": "TIGO-PESA",
            "updatedAt": "2026-03-01T12:00:00.000Z",
            "createdAt": "2026-03-01T11:59:00.000Z",
            "customer": {"customerName": "Asha Juma", "customerPhoneNumber": "255712345678"},
            "clientId": CLIENT_ID,
            **fields,
        }
        self.payments.setdefault(reference, []).append(record)
        return record

    # --- the HTTP side -------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            self.received.append(Received(method, path, headers, body))
        if self.down:
            return 503, {"message": "Service Unavailable"}
        if (method, path) == ("POST", "/generate-token"):
            return self._generate_token(headers)
        if self.delay:
            time.sleep(self.delay)
        refusal = self._check_token(headers.get("authorization", ""))
        if refusal is not None:
            return refusal
        if (method, path) == ("POST", "/checkout-link/generate-checkout-url"):
            return self._checkout(body)
        if method == "GET" and path.startswith("/payments/"):
            reference = path.removeprefix("/payments/")
            if reference not in self.payments:
                return 404, {"message": f"Invalid or missing payment: {reference}"}
            return 200, self.payments[reference]
        return 404, {"message": "Not Found"}

    def _generate_token(self, headers: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            self.token_calls += 1
        time.sleep(self.token_delay)
        if headers.get("client-id") != CLIENT_ID:
            return 403, {"message": "Invalid client details"}
        if headers.get("api-key") != API_KEY:
            return 403, {"message": "Invalid or Expired API-Key"}
        claims = {"sub": CLIENT_ID, "jti": secrets.token_hex(8), "exp": time.time() + self.token_ttl}
        token = "Bearer " + jwt.encode(claims, self._signing_key, algorithm="HS256")
        with self._lock:
            self._issued.add(token)
        return 200, {"success": True, "token": token}

    def _check_token(self, authorization: str) -> tuple[int, Any] | None:
        with self._lock:
            if authorization not in self._issued:
                return 401, {"message": "Unauthorized"}
            if self.refuse_next_token_use:
                self.refuse_next_token_use = False
                return 401, {"message": "Unauthorized"}
        try:
            jwt.decode(authorization.removeprefix("Bearer "), self._signing_key, algorithms=["HS256"])
        except jwt.ExpiredSignatureError:
            return 401, {"message": "Unauthorized"}
        return None

    def _checkout(self, body: Any) -> tuple[int, Any]:
        if self.checkout_error is not None:
            return self.checkout_error
        if self.hold is not None:
            self.hold.keep()
        if not isinstance(body, dict):
            return 400, {"statusCode": 400, "message": ["body must be an object"], "error": "Bad Request"}
        if self.checksum_key is not None:
            if not body.get("checksum"):
                return 400, {"statusCode": 400, "message": ["checksum is required"], "error": "Bad Request"}
            if not hmac.compare_digest(str(body["checksum"]), checksum_of(body, self.checksum_key)):
                return 400, {"statusCode": 400, "message": ["Invalid checksum"], "error": "Bad Request"}
        reference = body.get("orderReference")
        if not isinstance(reference, str) or not reference.strip() or not (reference.isascii() and reference.isalnum()):
            return 400, {"message": INVALID_REFERENCE}
        if not isinstance(body.get("totalPrice"), str) or body.get("orderCurrency") not in ("TZS", "USD"):
            return 400, {"message": "totalPrice must be a string and orderCurrency TZS or USD"}
        with self._lock:
            if reference in self.orders:
                return 409, {"message": "Order reference already used"}
            self.orders[reference] = body
        return 200, {"checkoutLink": f"{self.url}/checkout/{reference}", "clientId": CLIENT_ID}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, answer = self.server.fake.answer(self.command, self.path.split("?")[0], headers, body)
        payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        with contextlib.suppress(OSError):  # the caller may be gone (killed while its request was held)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeClickPesa) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def running(fake: FakeClickPesa) -> Iterator[FakeClickPesa]:
    """Serve `fake` on a free localhost port for the duration of the block."""
    server = _Server(fake)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-clickpesa", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
