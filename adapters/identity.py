"""ed25519 signature checks (pynacl) and signed session tokens (pyjwt)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jwt
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

from application.errors import Unauthenticated

# A signed JWT (ours, ClickPesa's): at a word's start, or right after a JSON escape (`\n`, `\u0001`), where a log
# line's JSON writes a token that followed a control character.
TOKEN_SHAPE = re.compile(
    r"(?:\b|(?<=\\[nrtbf])|(?<=\\u[0-9a-fA-F]{4}))eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
)


class Ed25519Signatures:
    def verify(self, public_key_hex: str, message: bytes, signature_hex: str) -> bool:
        try:
            VerifyKey(bytes.fromhex(public_key_hex)).verify(message, bytes.fromhex(signature_hex))
        except (ValueError, TypeError, BadSignatureError, CryptoError):
            return False
        return True


class JwtTokens:
    """HS256 tokens; expiry is checked by the application against its own clock."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self._secret, algorithm="HS256")

    def read(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=["HS256"], options={"verify_exp": False, "require": ["exp"]}
            )
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not valid") from None
        return claims
