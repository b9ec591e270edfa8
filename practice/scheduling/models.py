"""Rooms, appointments, recurring series and calendar feeds."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from practice.database import IdMixin, utcnow
from practice.extensions import db

KINDS = ("intake", "individual", "couple", "family", "group")
MODALITIES = ("in_person", "video", "phone")
STATUSES = ("scheduled", "attended", "cancelled", "late_cancelled", "no_show")
# Statuses that hold their slot; cancelled ones free it.
LIVE_STATUSES = ("scheduled", "attended", "no_show")
CANCELLED_BY = ("client", "clinician")
# Why an appointment was cancelled, in the clear; free text goes sealed into cancel_note.
CANCEL_CATEGORIES = (
    "illness",
    "schedule",
    "transport",
    "weather",
    "clinician_unavailable",
    "other",
)


class Room(IdMixin, db.Model):
    """A room of the practice that in-person appointments can book."""

    __tablename__ = "rooms"
    __table_args__ = (
        sa.UniqueConstraint("practice_id", "name"),
        # Names are unique ignoring case; this index makes concurrent requests obey it too.
        sa.Index(
            "uq_rooms_practice_id_lower_name", "practice_id", sa.text("lower(name)"), unique=True
        ),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppointmentSeries(IdMixin, db.Model):
    """A recurring booking: every N weeks at a local wall-clock time, for a count or until."""

    __tablename__ = "appointment_series"

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    clinician_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    every_weeks: Mapped[int]
    count: Mapped[int | None]
    until: Mapped[date | None]
    timezone: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appointment(IdMixin, db.Model):
    """One session on the calendar. Carries no clinical text in the clear: a cancellation's
    free-text reason is sealed under the client's data key (scheduling/cancel_reasons.py)."""

    __tablename__ = "appointments"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_appointments_clinician_starts", "clinician_id", "starts_at"),
        sa.Index("ix_appointments_practice_starts", "practice_id", "starts_at"),
        sa.Index("ix_appointments_client_starts", "client_id", "starts_at"),
        sa.Index("ix_appointments_room_starts", "room_id", "starts_at"),
        sa.Index("ix_appointments_series", "series_id", "series_index"),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"))
    clinician_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    room_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("rooms.id"))
    series_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("appointment_series.id"))
    series_index: Mapped[int | None]
    # True once this occurrence was changed on its own; series-wide edits then skip it.
    detached: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(16))
    modality: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="scheduled")
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(16))
    cancel_category: Mapped[str | None] = mapped_column(sa.String(32))
    cancel_note: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    status_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    series: Mapped[AppointmentSeries | None] = relationship()


class CalendarFeed(db.Model):
    """A clinician's secret iCalendar feed token (hash only); reissuing replaces it."""

    __tablename__ = "calendar_feeds"

    clinician_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
