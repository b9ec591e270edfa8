"""Password hashing (argon2id) and the password policy (NIST SP 800-63B)."""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 256


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    """The argon2id hasher with this app's parameters."""
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    """argon2id hash of the NFKC-normalised password."""
    return hasher().hash(normalise(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong or malformed hash."""
    try:
        return hasher().verify(password_hash, normalise(password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash was made with other parameters than today's."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A valid hash of a random password: verifying against it costs as much as a real
# check, so an unknown email takes as long as a wrong password.
@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash(secrets.token_hex(16))


def burn_time() -> None:
    """Spend one verification's worth of time (for unknown users)."""
    cfg = current_app.config
    verify_password(
        _dummy_hash(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"]),
        "not-the-password",
    )


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, lower-cased."""
    text = resources.files("practice").joinpath("data/common_passwords.txt").read_text()
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("# ")
    )


def normalise(password: str) -> str:
    """NFKC, as NIST SP 800-63B asks, so the same passphrase typed on another keyboard matches."""
    return unicodedata.normalize("NFKC", password)


def password_problems(
    password: str, *, email: str = "", name: str = "", current_hash: str | None = None
) -> list[str]:
    """Reasons `password` is refused; empty when it is acceptable. No composition rules."""
    password = normalise(password)
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(
            f"Use at least {MIN_LENGTH} characters; a passphrase of several words works well."
        )
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
        return problems
    lowered = password.lower()
    if _is_common(lowered):
        problems.append("This password is on a list of common or breached passwords.")
    elif _is_predictable(lowered):
        problems.append("This password is a repetition or sequence that is easy to guess.")
    context = _context_words(email, name)
    if any(word in lowered for word in context):
        problems.append("Do not use your name or email address in your password.")
    elif any(word in lowered for word in SERVICE_WORDS) and len(_squash(lowered)) < 20:
        problems.append("Do not build your password from the name of this service.")
    if current_hash and verify_password(current_hash, password):
        problems.append("Choose a password different from your current one.")
    return problems


# The service's own name, which people tend to reuse in their password.
SERVICE_WORDS = ("practice",)
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)


def _squash(lowered: str) -> str:
    return "".join(ch for ch in lowered if not ch.isspace())


def _is_common(lowered: str) -> bool:
    """On the list, or a listed password with only digits and symbols added or repeated."""
    common = common_passwords()
    squashed = _squash(lowered)
    if lowered in common or squashed in common:
        return True
    stem = squashed.rstrip("0123456789!@#$%^&*?.-_+=")
    stem = stem.lstrip("0123456789!@#$%^&*?.-_+=")
    if len(stem) >= 4 and stem in common:
        return True
    # "passwordpassword", "dragondragondragon": a listed word repeated.
    for size in range(4, len(squashed) // 2 + 1):
        if len(squashed) % size == 0 and squashed[:size] * (len(squashed) // size) == squashed:
            return squashed[:size] in common or len(set(squashed[:size])) <= 3
    return False


def _is_predictable(lowered: str) -> bool:
    """Few distinct characters, or one run along the alphabet, the digits or a keyboard row."""
    squashed = _squash(lowered)
    if len(set(squashed)) <= 3:
        return True
    # Runs may wrap around ("7890123456789"), so look in each sequence repeated.
    return any(squashed in seq * 3 or squashed in (seq * 3)[::-1] for seq in _SEQUENCES)


def _context_words(email: str, name: str) -> set[str]:
    """The user's name parts and email, which must not appear in their password."""
    words = set()
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3:
        words.add(local)
    for part in re.split(r"[\s.\-_+]+", f"{local} {name.lower()}"):
        if len(part) >= 4:
            words.add(part)
    if email and len(email) >= 3:
        words.add(email.lower())
    return words
