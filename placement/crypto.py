"""Encryption at rest: scenario, history, case and plan files sealed with a passphrase.

An encrypted file (an "envelope") is::

    PLACEMENT-ENCRYPTED/1\\n
    {"cipher":"AES-256-GCM","kdf":{"name":"scrypt","n":131072,"p":1,"r":8,"salt":"..."},
     "nonce":"..."}\\n                                  (one line of JSON, at most 1 KiB)
    ciphertext and 16-byte tag

The first two lines are the header, in clear so a reader knows how to derive the key; they
say nothing about the content (no names, no sizes beyond the file's own). The key is derived
from the passphrase with scrypt (memory-hard, so guessing passphrases on a GPU is costly) and a
random salt per file; the body is AES-256-GCM with a random nonce per file and the header bytes
as associated data, so altering a single byte anywhere -- header or body -- makes decryption
fail instead of yielding altered content.

A hostile header must not make the reader spend gigabytes or minutes: the scrypt parameters it
may ask for are bounded (``MAX_SCRYPT_MEMORY``), and so is the header's length.

Library code never prompts: when it meets an encrypted file it asks ``passphrase_source``
(by default the ``PLACEMENT_PASSPHRASE`` environment variable). The command line installs a
source that falls back to an interactive prompt.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from placement.errors import InputError, Problem

MAGIC: Final = b"PLACEMENT-ENCRYPTED/1\n"
CIPHER: Final = "AES-256-GCM"
PASSPHRASE_ENV: Final = "PLACEMENT_PASSPHRASE"

MAX_HEADER_BYTES: Final = 1024
"""The JSON header line is at most this long; a longer one is refused unread."""
MAX_SCRYPT_MEMORY: Final = 256 * 1024 * 1024
"""Most memory (128 * n * r bytes) a file's scrypt parameters may demand: twice the default."""
MAX_SCRYPT_PARALLEL: Final = 4
"""Most scrypt passes (p) a file may demand; together with the memory bound this caps the time."""

_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_SALT_BYTES = 16
_SALT_RANGE = (16, 64)

WRONG_KEY: Final = "cannot decrypt: wrong passphrase or the file was altered"
NO_PASSPHRASE: Final = f"file is encrypted; set {PASSPHRASE_ENV} or run interactively"


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's cost parameters: ``n`` (CPU/memory, a power of two), ``r`` (block size), ``p``.

    Memory used is about ``128 * n * r`` bytes. The default (n = 2**17, r = 8, p = 1: 128 MiB,
    about 0.4 s on a laptop core) is the OWASP recommendation for scrypt.
    """

    n: int = 2**17
    r: int = 8
    p: int = 1


#: The scrypt cost used for files encrypted from now on (files record their own cost, so
#: changing this never breaks reading old ones). Tests lower it to keep the suite fast.
scrypt_cost: ScryptCost = ScryptCost()


class EncryptionError(InputError):
    """An encrypted file that cannot be opened (or a file that cannot be encrypted): one problem.

    Wrong passphrase and altered file are one error on purpose: an authenticated cipher cannot
    tell them apart, and neither should the message pretend to.
    """

    def __init__(self, source: str, message: str) -> None:
        super().__init__(source, [Problem("", message)])
        self.reason = message


class PassphraseSource(Protocol):
    """Where to get a passphrase; ``confirm`` is true when encrypting (a prompt asks twice).

    Returns None when no passphrase is available (nothing set and nobody to ask).
    """

    def __call__(self, *, confirm: bool) -> str | None: ...


def passphrase_from_environment(*, confirm: bool = False) -> str | None:
    """The ``PLACEMENT_PASSPHRASE`` environment variable, or None when unset or empty."""
    return os.environ.get(PASSPHRASE_ENV) or None


#: Where the library gets a passphrase when it meets an encrypted file (default: the
#: environment variable only; library code never prompts). ``cli.py`` installs one that
#: also prompts on a terminal.
passphrase_source: PassphraseSource = passphrase_from_environment


# --------------------------------------------------------------------------- the envelope


def is_encrypted(blob: bytes) -> bool:
    """True when the bytes start like an encrypted placement file."""
    return blob.startswith(MAGIC)


def is_encrypted_file(path: str | Path) -> bool:
    """True when the file at ``path`` starts like an encrypted placement file."""
    try:
        with Path(path).open("rb") as stream:
            return is_encrypted(stream.read(len(MAGIC)))
    except OSError:
        return False


def encrypt(data: bytes, passphrase: str, *, cost: ScryptCost | None = None) -> bytes:
    """Seal ``data`` with a key derived from ``passphrase``; a new salt and nonce every call."""
    if not passphrase:
        raise EncryptionError("passphrase", "the passphrase is empty")
    cost = cost or scrypt_cost
    salt = os.urandom(_SALT_BYTES)
    nonce = os.urandom(_NONCE_BYTES)
    header = {
        "cipher": CIPHER,
        "kdf": {"name": "scrypt", "n": cost.n, "r": cost.r, "p": cost.p, "salt": _b64(salt)},
        "nonce": _b64(nonce),
    }
    head = MAGIC + json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    _check_cost(cost.n, cost.r, cost.p, "the scrypt cost")
    key = _derive(passphrase, salt, cost)
    return head + AESGCM(key).encrypt(nonce, data, head)


def decrypt(blob: bytes, passphrase: str, *, source: str = "encrypted data") -> bytes:
    """Open an envelope made by ``encrypt``; raise ``EncryptionError`` rather than return garbage.

    ``source`` names the file in the error message.
    """
    head, salt, nonce, cost, body = _read_header(blob, source)
    key = _derive(passphrase, salt, cost)
    try:
        return AESGCM(key).decrypt(nonce, body, head)
    except InvalidTag:
        raise EncryptionError(source, WRONG_KEY) from None


def decrypt_with_source(blob: bytes, *, source: str = "encrypted data") -> bytes:
    """Decrypt with the passphrase from ``passphrase_source``; a clear error when there is none.

    The header is checked first, so a garbled file is reported as such before anyone is asked
    for a passphrase.
    """
    _read_header(blob, source)
    passphrase = passphrase_source(confirm=False)
    if not passphrase:
        raise EncryptionError(source, NO_PASSPHRASE)
    return decrypt(blob, passphrase, source=source)


def passphrase_for_encryption(*, source: str = "passphrase") -> str:
    """The passphrase to encrypt with, from ``passphrase_source``; a clear error when none."""
    passphrase = passphrase_source(confirm=True)
    if not passphrase:
        raise EncryptionError(
            source, f"no passphrase to encrypt with; set {PASSPHRASE_ENV} or run interactively"
        )
    return passphrase


# --------------------------------------------------------------------------- internals


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(passphrase: str, salt: bytes, cost: ScryptCost) -> bytes:
    kdf = Scrypt(salt=salt, length=_KEY_BYTES, n=cost.n, r=cost.r, p=cost.p)
    return kdf.derive(passphrase.encode("utf-8"))


def _read_header(blob: bytes, source: str) -> tuple[bytes, bytes, bytes, ScryptCost, bytes]:
    """Split and validate the header: (header bytes, salt, nonce, cost, ciphertext)."""
    if not is_encrypted(blob):
        raise EncryptionError(source, "not an encrypted placement file (no header)")
    end = blob.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER_BYTES + 1)
    if end < 0:
        raise EncryptionError(source, "encrypted file header is truncated or garbled")
    head, body = blob[: end + 1], blob[end + 1 :]
    try:
        header = json.loads(blob[len(MAGIC) : end].decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EncryptionError(source, "encrypted file header is garbled") from None
    problem = _header_problem(header)
    if problem:
        raise EncryptionError(source, f"encrypted file header is not usable: {problem}")
    kdf = header["kdf"]
    salt = base64.b64decode(kdf["salt"], validate=True)
    nonce = base64.b64decode(header["nonce"], validate=True)
    if len(body) < _TAG_BYTES:
        raise EncryptionError(source, "encrypted file is truncated")
    return head, salt, nonce, ScryptCost(n=kdf["n"], r=kdf["r"], p=kdf["p"]), body


def _header_problem(header: Any) -> str | None:
    """What is wrong with a parsed header, or None; checks every value before any is used."""
    if not isinstance(header, dict) or set(header) != {"cipher", "kdf", "nonce"}:
        return "expected keys cipher, kdf, nonce"
    if header["cipher"] != CIPHER:
        return f"unknown cipher {str(header['cipher'])[:40]!r}; expected {CIPHER}"
    kdf = header["kdf"]
    if not isinstance(kdf, dict) or set(kdf) != {"name", "n", "r", "p", "salt"}:
        return "kdf: expected keys name, n, r, p, salt"
    if kdf["name"] != "scrypt":
        return f"unknown key derivation {str(kdf['name'])[:40]!r}; expected scrypt"
    if not all(type(kdf[k]) is int for k in ("n", "r", "p")):
        return "kdf: n, r and p must be integers"
    cost_problem = _cost_problem(kdf["n"], kdf["r"], kdf["p"])
    if cost_problem:
        return cost_problem
    salt = _decoded(kdf["salt"])
    if salt is None or not _SALT_RANGE[0] <= len(salt) <= _SALT_RANGE[1]:
        return f"kdf: salt must be {_SALT_RANGE[0]} to {_SALT_RANGE[1]} bytes of base64"
    nonce = _decoded(header["nonce"])
    if nonce is None or len(nonce) != _NONCE_BYTES:
        return f"nonce must be {_NONCE_BYTES} bytes of base64"
    return None


def _cost_problem(n: int, r: int, p: int) -> str | None:
    if n < 2 or n & (n - 1):
        return "scrypt n must be a power of two, at least 2"
    if not 1 <= r <= 64 or not 1 <= p <= MAX_SCRYPT_PARALLEL:
        return f"scrypt r must be 1 to 64 and p 1 to {MAX_SCRYPT_PARALLEL}"
    if 128 * n * r > MAX_SCRYPT_MEMORY:
        return (
            f"scrypt parameters demand {128 * n * r // 2**20:,} MiB; "
            f"the limit is {MAX_SCRYPT_MEMORY // 2**20} MiB"
        )
    return None


def _check_cost(n: int, r: int, p: int, source: str) -> None:
    problem = _cost_problem(n, r, p)
    if problem:
        raise EncryptionError(source, problem)


def _decoded(value: Any) -> bytes | None:
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
