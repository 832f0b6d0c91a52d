"""ClickPesa's third-party API over httpx: a cached token, answers and failures translated.

Failures become the application's gateway errors: no answer, a timeout, a 5xx or a 429 is
GatewayUnavailable (try again later); any other refusal is GatewayRefused. Messages carry
ClickPesa's own `message`, never our credentials or token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from adapters.clickpesa.tokens import TokenCache
from application.errors import GatewayError, GatewayRefused, GatewayUnavailable

DEFAULT_TIMEOUT_SECONDS = 10.0
MESSAGE_LIMIT = 200


class ClickPesaClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
        on_call: Callable[[str], None] = lambda call: None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, headers={"accept": "application/json"}
        )
        self._credentials = {"client-id": client_id, "api-key": api_key}
        self._tokens = TokenCache(self._generate_token, clock)
        self._on_call = on_call  # told "token", "checkout" or "status" before each request: the daily quota

    def generate_checkout_url(self, body: Mapping[str, str]) -> str:
        """A hosted checkout link for the order in `body`."""
        response = self._authorized("checkout", "POST", "/checkout-link/generate-checkout-url", body)
        if response.status_code not in (200, 201):
            raise _failure(response, "open a checkout")
        answer = _json(response)
        if not isinstance(answer, dict):
            raise GatewayRefused(f"ClickPesa answered the checkout request with {_shape(answer)}, not an object")
        link = answer.get("checkoutLink")
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            raise GatewayRefused("ClickPesa answered the checkout request without a checkoutLink")
        return link

    def payments(self, order_reference: str) -> list[dict[str, Any]] | None:
        """The payment records for an order (None: ClickPesa knows of no payment for it yet)."""
        response = self._authorized("status", "GET", f"/payments/{quote(order_reference, safe='')}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _failure(response, "report a payment's status")
        answer = _json(response)
        records = answer if isinstance(answer, list) else [answer]
        return [record for record in records if isinstance(record, dict)]

    def close(self) -> None:
        self._http.close()

    def _authorized(self, call: str, method: str, path: str, body: Mapping[str, str] | None = None) -> httpx.Response:
        token = self._tokens.get()
        response = self._send(call, method, path, body, {"Authorization": token})
        if response.status_code == 401:  # expired or revoked early: renew once
            self._tokens.discard(token)
            response = self._send(call, method, path, body, {"Authorization": self._tokens.get()})
        return response

    def _generate_token(self) -> str:
        response = self._send("token", "POST", "/generate-token", None, self._credentials)
        if response.status_code != 200:
            raise _failure(response, "issue an access token")
        answer = _json(response)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise GatewayUnavailable("ClickPesa answered without a token")
        token = token.strip()
        return token if token.startswith("Bearer ") else f"Bearer {token}"

    def _send(
        self, call: str, method: str, path: str, body: Mapping[str, str] | None, headers: Mapping[str, str]
    ) -> httpx.Response:
        self._on_call(call)
        try:
            return self._http.request(method, path, json=body, headers=dict(headers))
        except httpx.TimeoutException:
            raise GatewayUnavailable("ClickPesa did not answer in time") from None
        except httpx.HTTPError as error:
            raise GatewayUnavailable(f"ClickPesa could not be reached ({type(error).__name__})") from None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _shape(answer: Any) -> str:
    return "a body that is not JSON" if answer is None else f"a JSON {type(answer).__name__}"


def _failure(response: httpx.Response, action: str) -> GatewayError:
    status = response.status_code
    said = _message(response)
    detail = f"ClickPesa would not {action}: HTTP {status}" + (f", {said}" if said else "")
    if status >= 500 or status == 429:
        return GatewayUnavailable(detail)
    return GatewayRefused(detail)


def _message(response: httpx.Response) -> str:
    answer = _json(response)
    message = answer.get("message") if isinstance(answer, dict) else None
    if isinstance(message, list):
        message = "; ".join(str(item) for item in message)
    return str(message)[:MESSAGE_LIMIT] if message else ""
