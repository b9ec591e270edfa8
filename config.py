"""Configuration classes, chosen by PRACTICE_CONFIG and read from the environment.

Development generates what it needs into the instance folder; production refuses to
start unless it is told everything (see `ProductionConfig.missing`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from limits import parse_many

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_INSTANCE = BASE_DIR / "instance"


# Whole-number settings: name -> (default, least allowed value).
WHOLE_NUMBERS = {
    "SESSION_IDLE_MINUTES": (15, 1),
    "SESSION_MAX_HOURS": (12, 1),
    "PRACTICE_RETENTION_YEARS": (7, 1),
    "PRACTICE_PROXY_HOPS": (0, 0),  # 0: no proxy
    "PRACTICE_TOKEN_DAYS": (90, 1),
    "PRACTICE_TOKEN_MAX_DAYS": (365, 1),
    "LOGIN_KNOWN_ADDRESS_DAYS": (30, 1),
}

# Sign-in failure limits (practice/auth/throttle.py): name -> default, in flask-limiter's
# notation ("10 per 15 minutes", several joined by ";").
FAILURE_LIMITS = {
    "LOGIN_ADDRESS_FAILURES": "100 per 15 minutes",
    "LOGIN_ACCOUNT_ADDRESS_FAILURES": "10 per 15 minutes",
    "LOGIN_ACCOUNT_FAILURES": "50 per hour",
}


def _failure_limit(name: str) -> tuple[str, str | None]:
    """The limit from the environment (its default when unset), and the problem with a
    value that is set but unusable (the default is returned then)."""
    value = os.environ.get(name)
    if value is None:
        return FAILURE_LIMITS[name], None
    try:
        if parse_many(value):
            return value, None
    except ValueError:
        pass
    return FAILURE_LIMITS[name], f"{name} must be a limit such as '10 per 15 minutes'"


def _whole_number(name: str) -> tuple[int, str | None]:
    """The setting from the environment (its default when unset), and the problem with
    a value that is set but unusable (the default is returned then)."""
    default, least = WHOLE_NUMBERS[name]
    value = os.environ.get(name)
    if value is None:
        return default, None
    if value.strip().isascii() and value.strip().isdigit() and int(value) >= least:
        return int(value), None
    return default, f"{name} must be a whole number of at least {least}"


def instance_path() -> Path:
    """The instance folder, read when the app is built (so a process may set it late)."""
    return Path(os.environ.get("PRACTICE_INSTANCE_PATH") or DEFAULT_INSTANCE)


class Config:
    """Settings common to every environment."""

    NAME = "base"
    # The environment is read by `from_environment` when an app is built, never at import.
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None
    # No pool_pre_ping (a round trip on every request): practice.database.ping_when_idle.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    PRACTICE_KEYRING = None
    # ISO 3166 region (e.g. "DE") for client phone numbers written without a country code.
    PRACTICE_PHONE_REGION = None
    # Years after discharge before `flask clients shred` may destroy a client's data key.
    PRACTICE_RETENTION_YEARS = 7
    # Keys the audit chain and its checkpoint. Unset: derived from SECRET_KEY, as before
    # this setting existed. Set it to the current SECRET_KEY to rotate SECRET_KEY alone.
    PRACTICE_AUDIT_KEY = None
    # "inline": an audited commit appends its entries to the practice's chain itself,
    # holding the chain's row lock until it commits. "deferred" (PostgreSQL; production's
    # default): it only inserts them as pending, and each app process's sealer thread
    # appends them every AUDIT_SEAL_SECONDS (practice/audit/sealer.py). SQLite is inline.
    AUDIT_SEALING = "inline"
    AUDIT_SEAL_SECONDS = 1.0
    # A practice's standard CCRT tag lists (a JSON file; see README). Unset: tags are off.
    PRACTICE_CCRT_TAGS = None
    # A folder of instrument definitions (JSON) a practice adds to PHQ-9 and GAD-7.
    PRACTICE_MEASURES_DIR = None
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto headers are trusted
    # (0: none; the client address is the socket's). Wrong values let clients forge it.
    PRACTICE_PROXY_HOPS = 0

    SESSION_IDLE_MINUTES = 15
    SESSION_MAX_HOURS = 12
    SESSION_COOKIE_NAME = "practice_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=SESSION_MAX_HOURS)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    SEND_HSTS = True

    MAX_CONTENT_LENGTH = 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_ADDRESS_FAILURES = FAILURE_LIMITS["LOGIN_ADDRESS_FAILURES"]
    LOGIN_ACCOUNT_ADDRESS_FAILURES = FAILURE_LIMITS["LOGIN_ACCOUNT_ADDRESS_FAILURES"]
    LOGIN_ACCOUNT_FAILURES = FAILURE_LIMITS["LOGIN_ACCOUNT_FAILURES"]
    # An account is not held to the per-address and per-account limits at an address
    # where it signed in within this many days.
    LOGIN_KNOWN_ADDRESS_DAYS = 30
    # Personal API tokens: lifetime when none is asked for, and the longest allowed.
    PRACTICE_TOKEN_DAYS = 90
    PRACTICE_TOKEN_MAX_DAYS = 365

    API_TITLE = "practice"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # /api/docs is practice.api.docs (vendored Swagger UI under a strict CSP), not
    # flask-smorest's page with its inline script.

    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_PARALLELISM = 1

    @classmethod
    def from_environment(cls) -> dict:
        """Settings taken from the environment now, at app creation, not at import time."""
        settings = {
            "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
            "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or None,
            "PRACTICE_KEYRING": os.environ.get("PRACTICE_KEYRING") or None,
            "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or None,
            "PRACTICE_PHONE_REGION": os.environ.get("PRACTICE_PHONE_REGION") or None,
            "PRACTICE_AUDIT_KEY": os.environ.get("PRACTICE_AUDIT_KEY") or None,
            "PRACTICE_CCRT_TAGS": os.environ.get("PRACTICE_CCRT_TAGS") or None,
            "PRACTICE_MEASURES_DIR": os.environ.get("PRACTICE_MEASURES_DIR") or None,
            "AUDIT_SEALING": os.environ.get("PRACTICE_AUDIT_SEALING") or None,
        }
        settings.update({name: _whole_number(name)[0] for name in WHOLE_NUMBERS})
        settings.update({name: _failure_limit(name)[0] for name in FAILURE_LIMITS})
        settings["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings["SESSION_MAX_HOURS"])
        return {name: value for name, value in settings.items() if value is not None}

    @classmethod
    def problems(cls) -> list[str]:
        """Environment variables that are set but unusable."""
        problems = [problem for name in WHOLE_NUMBERS if (problem := _whole_number(name)[1])]
        problems += [problem for name in FAILURE_LIMITS if (problem := _failure_limit(name)[1])]
        if _whole_number("PRACTICE_TOKEN_DAYS")[0] > _whole_number("PRACTICE_TOKEN_MAX_DAYS")[0]:
            problems.append("PRACTICE_TOKEN_DAYS must not exceed PRACTICE_TOKEN_MAX_DAYS")
        sealing = os.environ.get("PRACTICE_AUDIT_SEALING")
        if sealing and sealing not in ("inline", "deferred"):
            problems.append(f"PRACTICE_AUDIT_SEALING must be inline or deferred, not {sealing!r}")
        return problems

    @classmethod
    def missing(cls) -> list[str]:
        """Settings this environment needs but was not given."""
        return cls.problems()


class DevelopmentConfig(Config):
    """Local use: SQLite in instance/, generated secret key and keyring, plain-HTTP cookies."""

    NAME = "development"
    SESSION_COOKIE_SECURE = False
    SEND_HSTS = False


class TestingConfig(Config):
    """The test suite: tests/conftest.py passes the database, keyring and secret key, which
    take precedence over the environment; subprocesses (CLI tests) may use the environment."""

    NAME = "testing"
    TESTING = True
    SESSION_COOKIE_SECURE = False
    SEND_HSTS = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    """Clinics: every secret comes from the environment; nothing is generated."""

    NAME = "production"
    # No request waits for another on a practice's audit chain (see Config).
    AUDIT_SEALING = "deferred"

    MIN_SECRET_KEY_LENGTH = 32

    @classmethod
    def missing(cls) -> list[str]:
        """SECRET_KEY, DATABASE_URL and a readable PRACTICE_KEYRING are all required."""
        missing = cls.problems()
        secret_key = os.environ.get("SECRET_KEY", "")
        if not secret_key:
            missing.append("SECRET_KEY")
        elif len(secret_key) < cls.MIN_SECRET_KEY_LENGTH:
            missing.append(
                f"SECRET_KEY (too short: use at least {cls.MIN_SECRET_KEY_LENGTH} characters)"
            )
        audit_key = os.environ.get("PRACTICE_AUDIT_KEY")
        if audit_key is not None and len(audit_key) < cls.MIN_SECRET_KEY_LENGTH:
            missing.append(
                f"PRACTICE_AUDIT_KEY (too short: use at least {cls.MIN_SECRET_KEY_LENGTH} "
                "characters, or leave it unset)"
            )
        if not os.environ.get("DATABASE_URL"):
            missing.append("DATABASE_URL")
        missing += cls.weakened()
        keyring = os.environ.get("PRACTICE_KEYRING")
        if not keyring:
            missing.append("PRACTICE_KEYRING")
        elif not keyring.lstrip().startswith("{") and not os.access(keyring, os.R_OK):
            missing.append(f"PRACTICE_KEYRING (cannot read {keyring})")
        return missing

    @classmethod
    def weakened(cls) -> list[str]:
        """Settings that would silently weaken production. Rate limits kept in process
        memory (`memory://`, also the default) are counted per worker process: with two
        workers the sign-in throttle allows twice the attempts, with two instances more.
        Refused unless the operator states that one process serves the deployment."""
        storage = os.environ.get("RATELIMIT_STORAGE_URI") or cls.RATELIMIT_STORAGE_URI
        if not storage.startswith("memory://"):
            return []
        single = os.environ.get("PRACTICE_SINGLE_PROCESS", "")
        if single == "1":
            return []
        problem = (
            "RATELIMIT_STORAGE_URI (memory:// counts sign-in attempts per process, so "
            "several workers or instances each allow the full limit: use redis://..., or "
            "set PRACTICE_SINGLE_PROCESS=1 if exactly one single-process worker serves "
            "the deployment)"
        )
        if single:
            problem += f"; PRACTICE_SINGLE_PROCESS must be 1 or unset, not {single!r}"
        return [problem]


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The config class named by `name` or PRACTICE_CONFIG (default: development)."""
    name = name or os.environ.get("PRACTICE_CONFIG") or "development"
    try:
        return CONFIGS[name]
    except KeyError:
        raise SystemExit(
            f"practice: unknown PRACTICE_CONFIG {name!r}; use one of {', '.join(CONFIGS)}"
        ) from None
