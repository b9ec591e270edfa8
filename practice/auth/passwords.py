"""Password hashing (argon2id) and the password policy (NIST SP 800-63B)."""

from __future__ import annotations

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
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong or malformed hash."""
    try:
        return hasher().verify(password_hash, password)
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
    import secrets

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
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Reasons `password` is refused; empty when it is acceptable. No composition rules."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(
            f"Use at least {MIN_LENGTH} characters; a passphrase of several words works well."
        )
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or _is_repetitive(lowered):
        problems.append("This password is too common or too easy to guess.")
    context = _context_words(email, name)
    if any(word in lowered for word in context):
        problems.append("Do not use your name or email address in your password.")
    return problems


def _is_repetitive(lowered: str) -> bool:
    return len(set(lowered)) <= 2


def _context_words(email: str, name: str) -> set[str]:
    words = set()
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3:
        words.add(local)
    for part in name.lower().replace("-", " ").split():
        if len(part) >= 3:
            words.add(part)
    if email and len(email) >= 3:
        words.add(email.lower())
    return words
