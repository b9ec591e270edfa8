"""Clients of a practice and their care team. Demographics are not encrypted (they must
be searchable and sortable); clinical text about a client lives in notes/, encrypted."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from practice.database import IdMixin, utcnow
from practice.extensions import db

CLIENT_STATUSES = ("active", "inactive", "discharged")


class Client(IdMixin, db.Model):
    """A person in treatment (or once in treatment) at the practice."""

    __tablename__ = "clients"
    __table_args__ = (
        sa.Index("ix_clients_practice_name", "practice_id", "last_name", "first_name"),
        sa.Index("ix_clients_primary_clinician", "primary_clinician_id", "last_name"),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    preferred_name: Mapped[str | None] = mapped_column(sa.String(100))
    date_of_birth: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    primary_clinician_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    intake_date: Mapped[date | None]
    discharge_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Case-folded "first last preferred", kept in step with the names, so `q` searches
    # are case-insensitive for every script on SQLite too (its lower() knows only ASCII).
    name_search: Mapped[str] = mapped_column(sa.Text, default="")

    care_team: Mapped[list[CareTeamMember]] = relationship(
        back_populates="client", cascade="all, delete-orphan", lazy="selectin"
    )

    @staticmethod
    def fold(text: str | None) -> str:
        """Text in the form `name_search` keeps: NFKC-normalised and case-folded."""
        return unicodedata.normalize("NFKC", text or "").casefold()

    @validates("first_name", "last_name", "preferred_name")
    def _refresh_name_search(self, key: str, value: str | None) -> str | None:
        names = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "preferred_name": self.preferred_name,
        }
        names[key] = value
        self.name_search = " ".join(self.fold(name) for name in names.values() if name)
        return value

    @property
    def care_team_ids(self) -> set[uuid.UUID]:
        return {member.user_id for member in self.care_team}

    def is_assigned(self, user_id: uuid.UUID) -> bool:
        """True when the user is this client's primary clinician or on the care team."""
        return user_id == self.primary_clinician_id or user_id in self.care_team_ids


class CareTeamMember(db.Model):
    """A clinician other than the primary one who works with the client."""

    __tablename__ = "care_team_members"

    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[Client] = relationship(back_populates="care_team")
