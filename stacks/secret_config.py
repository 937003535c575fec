"""Secret stack config values encrypted in process, without a ``pulumi config set --secret`` process.

Pulumi's passphrase secrets provider, the one Storestack's stacks use, encrypts a secret config
value with AES-256-GCM under a key derived from the passphrase and the stack's salt
(PBKDF2-HMAC-SHA256, 1,000,000 rounds) and writes it as ``v1:<nonce>:<ciphertext>`` (base64). The
stack config's ``encryptionsalt`` is ``v1:<salt>:`` followed by the text "pulumi" encrypted that
way, which tells a right key from a wrong one. A ``pulumi config set --secret`` process spent
0.35-0.45 s of CPU on every store's first up, half of it deriving that key. Here a key is derived
once per salt and process (every stack a process creates shares one salt: ``stacks.stack_init``),
so a value costs microseconds. A salt in any other form, or one the passphrase does not open, gets
``None``: the caller then asks the CLI as before.

Called by ``stacks.credentials``; the engine reads what it writes in every first ``up``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ROUNDS = 1_000_000
_CHECK = b"pulumi"
_NONCE_BYTES = 12


class SecretConfig:
    """Encrypts secret config values for the stacks of one passphrase."""

    def __init__(self, passphrase: str) -> None:
        self._passphrase = passphrase.encode()
        self._lock = threading.Lock()
        self._keys: dict[str, AESGCM | None] = {}

    def encrypt(self, salt_state: str, value: str) -> str | None:
        """``value`` as the stack's ``secure:`` text, or ``None`` if this salt is not for here."""
        key = self._key(salt_state)
        if key is None:
            return None
        nonce = os.urandom(_NONCE_BYTES)
        sealed = key.encrypt(nonce, value.encode(), None)
        return f"v1:{_b64(nonce)}:{_b64(sealed)}"

    def _key(self, salt_state: str) -> AESGCM | None:
        with self._lock:  # one derivation per salt, however many threads ask at once
            if salt_state not in self._keys:
                self._keys[salt_state] = self._derive(salt_state)
            return self._keys[salt_state]

    def _derive(self, salt_state: str) -> AESGCM | None:
        parts = salt_state.split(":")
        if len(parts) != 5 or parts[0] != "v1" or parts[2] != "v1":
            return None
        try:
            salt, nonce, check = (base64.b64decode(p, validate=True) for p in (parts[1], parts[3], parts[4]))
        except (binascii.Error, ValueError):
            return None
        key = AESGCM(hashlib.pbkdf2_hmac("sha256", self._passphrase, salt, _ROUNDS, 32))
        try:
            opened = key.decrypt(nonce, check, None) if len(nonce) == _NONCE_BYTES else None
        except InvalidTag:
            return None
        return key if opened == _CHECK else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
