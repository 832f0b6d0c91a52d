"""The service's ed25519 ledger key (pynacl): signs export and checkpoint head hashes."""

from __future__ import annotations

from nacl.signing import SigningKey


class Ed25519LedgerSigner:
    def __init__(self, seed_hex: str) -> None:
        self._key = SigningKey(bytes.fromhex(seed_hex))

    @property
    def public_key(self) -> str:
        return self._key.verify_key.encode().hex()

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).signature.hex()
