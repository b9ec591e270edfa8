"""Practices, their users, login sessions, personal API tokens and supervision links."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.database import IdMixin, utcnow
from practice.extensions import db

ROLES = ("owner", "clinician", "scheduler", "supervisor")


class Practice(IdMixin, db.Model):
    """A private practice or clinic: the tenant every other row belongs to."""

    __tablename__ = "practices"

    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    require_totp: Mapped[bool] = mapped_column(default=False)
    # Region (ISO 3166 alpha-2, e.g. "DE") for phone numbers written without a country
    # code; None: the deployment's PRACTICE_PHONE_REGION, if any.
    phone_region: Mapped[str | None] = mapped_column(sa.String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def zone(self) -> ZoneInfo:
        """The IANA zone the practice keeps its calendar in (series expand in it, "today"
        is its date)."""
        return ZoneInfo(self.timezone)


class User(IdMixin, db.Model):
    """Someone who logs in: owner, clinician, scheduler and/or supervisor of one practice."""

    __tablename__ = "users"

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # Space-separated, sorted role names (see ROLES); use `roles` / `has_role`.
    role_names: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The last TOTP time step accepted, so one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # SHA-256 of the unused TOTP recovery codes, a JSON list (practice/auth/totp.py).
    totp_recovery_hashes: Mapped[str | None] = mapped_column(sa.Text)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the operator's reset (flask practice reset-password): someone else chose the
    # password, so the user may only choose their own until they have (sessions.py).
    password_reset_required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    practice: Mapped[Practice] = relationship(lazy="joined")

    @property
    def roles(self) -> list[str]:
        return self.role_names.split()

    @roles.setter
    def roles(self, value) -> None:
        self.role_names = " ".join(sorted(set(value)))

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of `roles`."""
        mine = self.roles
        return any(role in mine for role in roles)

    @property
    def totp_enrolment_pending(self) -> bool:
        """The practice requires TOTP and this user has not enabled it yet."""
        return bool(self.practice.require_totp) and not self.totp_enabled

    @property
    def totp_recovery_codes_left(self) -> int:
        """How many unused TOTP recovery codes the user still has."""
        return len(json.loads(self.totp_recovery_hashes)) if self.totp_recovery_hashes else 0

    @property
    def is_active_clinician(self) -> bool:
        """An enabled account holding the clinician role: someone who can be booked and
        assigned clients."""
        return self.active and self.has_role("clinician")

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class UserSession(IdMixin, db.Model):
    """A server-side login session; the cookie carries only its random secret."""

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(sa.String(32))
    address: Mapped[str | None] = mapped_column(sa.String(64))

    user: Mapped[User] = relationship(lazy="joined")  # every authenticated request needs it


class ApiToken(IdMixin, db.Model):
    """A personal API token; only its hash is stored, the secret is shown once."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every token expires (PRACTICE_TOKEN_DAYS by default, PRACTICE_TOKEN_MAX_DAYS at most).
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Written at most once a minute (sessions.TOKEN_TOUCH_EVERY).
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")  # every authenticated request needs it


class Supervision(IdMixin, db.Model):
    """A supervision link: asked for by an owner, in effect only once the supervised
    clinician accepts it, until either side (or an owner) ends it. While in effect the
    supervisor reads the supervisee's notes (read-only); pending or ended, nothing."""

    __tablename__ = "supervisions"
    __table_args__ = (
        sa.Index(
            "uq_supervisions_active_pair",
            "supervisor_id",
            "supervisee_id",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"), index=True)
    supervisor_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    supervisee_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Who asked for the link (None: made before links needed accepting, migration 0009).
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the supervisee accepted; None while the request is pending (no reach).
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    # declined, withdrawn (a pending request taken back), ended, role_removed.
    end_reason: Mapped[str | None] = mapped_column(sa.String(16))

    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id], lazy="joined")
    supervisee: Mapped[User] = relationship(foreign_keys=[supervisee_id], lazy="joined")

    @property
    def status(self) -> str:
        """pending, active, or why it ended (see end_reason)."""
        if self.ended_at is None:
            return "pending" if self.accepted_at is None else "active"
        return self.end_reason or ("ended" if self.accepted_at else "withdrawn")
