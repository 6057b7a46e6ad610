"""Encryption of secrets at rest, and hashing of tokens for look-up."""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBox:
    """Encrypt and decrypt secrets with keys derived from ``DLRHUB_SECRET_KEY``.

    The setting may list several keys separated by commas: the first encrypts, every
    one decrypts, so that a key can be rotated without re-encrypting at once.
    """

    def __init__(self, secret_key: str) -> None:
        keys = [k.strip() for k in secret_key.split(",") if k.strip()]
        if not keys:
            raise ValueError("DLRHUB_SECRET_KEY is empty")
        self._fernet = MultiFernet([Fernet(_derive(k)) for k in keys])

    def encrypt(self, plain: str) -> str:
        """Return ``plain`` encrypted and authenticated, as text."""
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the plain text of an encrypted value; raise ``ValueError`` if tampered."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as ex:
            raise ValueError("the secret cannot be decrypted with DLRHUB_SECRET_KEY") from ex


def _derive(key: str) -> bytes:
    # Fernet wants 32 url-safe base64 bytes; any passphrase is stretched to that.
    digest = hashlib.sha256(b"dlrhub-secret-box:" + key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def token_hash(token: str) -> str:
    """Return the SHA-256 of a bearer token, the form in which it is looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "", nbytes: int = 24) -> str:
    """Return a random URL-safe token, optionally prefixed."""
    return prefix + secrets.token_urlsafe(nbytes)
