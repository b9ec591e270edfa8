"""Figures, scripts, process notes and addenda. All clinical content is ciphertext
(see practice/keys/envelope.py); only what is needed to find, order and lock rows is plain."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from practice.database import IdMixin, utcnow
from practice.extensions import db

NOTE_STATUSES = ("draft", "signed")
# The version of a new note or script; each write adds one. Their sealed values are bound
# to it (practice/keys/envelope.py, format 0x02), so an older value put back fails to decrypt.
FIRST_VERSION = 1
SCRIPT_STATUSES = ("hypothesis", "working", "focal", "resolved", "retired")


class Figure(IdMixin, db.Model):
    """A person in the client's life; label, role and period are in `payload` (encrypted).

    Every client has one built-in figure for the therapist (`is_therapist`).
    """

    __tablename__ = "figures"
    __table_args__ = (
        sa.Index(
            "uq_figures_one_therapist",
            "client_id",
            unique=True,
            sqlite_where=sa.text("is_therapist"),
            postgresql_where=sa.text("is_therapist"),
        ),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    is_therapist: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Script(IdMixin, db.Model):
    """A recurring relational pattern (CCRT / CMP), its words encrypted in `payload`.

    A merged script points to its survivor; theme history folds it in.
    """

    __tablename__ = "scripts"

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="hypothesis")
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("scripts.id"))
    version: Mapped[int] = mapped_column(default=FIRST_VERSION)
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessNote(IdMixin, db.Model):
    """A process note (psychotherapy note): readable only by its author and their supervisor.

    `content` is the encrypted template JSON. Drafts change under optimistic concurrency
    (`version`); a signed note never changes again, corrections are addenda.
    """

    __tablename__ = "process_notes"
    __table_args__ = (
        sa.Index("ix_process_notes_client_date", "client_id", "session_date"),
        sa.Index("ix_process_notes_author", "author_id", "session_date"),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("appointments.id"), unique=True
    )
    session_date: Mapped[date]
    template_version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    version: Mapped[int] = mapped_column(default=FIRST_VERSION)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    signed_at: Mapped[datetime | None]


class NoteAddendum(IdMixin, db.Model):
    """An append-only, encrypted, attributed correction to a signed note."""

    __tablename__ = "note_addenda"

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"))
    note_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("process_notes.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
