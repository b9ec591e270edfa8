"""Progress notes, their addenda, treatment plans and the practice's record codes.

The clinical record beside the process notes (45 CFR 164.501 keeps these out of
psychotherapy notes): every clinical value is sealed under the client's data key in
`content` / `text`; only what finds, orders and locks rows is plain. Signed rows never
change (migration 0015 makes the database refuse it too).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from practice.database import IdMixin, utcnow
from practice.extensions import db

RECORD_STATUSES = ("draft", "signed")


class ProgressNote(IdMixin, db.Model):
    """The record of one session (an appointment of the client): service code, diagnoses,
    mental status, risk, interventions, progress on the plan's goals, plan — all in the
    sealed `content`. Drafts change under If-Match (`version`); signed ones take addenda."""

    __tablename__ = "progress_notes"
    __table_args__ = (sa.Index("ix_progress_notes_client_date", "client_id", "session_date"),)

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"))
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    appointment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("appointments.id"), unique=True)
    # The signed treatment plan whose goals this note rates (None: no plan yet).
    plan_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("treatment_plans.id"))
    session_date: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    signed_at: Mapped[datetime | None]


class ProgressNoteAddendum(IdMixin, db.Model):
    """An append-only, sealed, attributed correction to a signed progress note."""

    __tablename__ = "progress_note_addenda"

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"))
    note_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("progress_notes.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TreatmentPlan(IdMixin, db.Model):
    """One version (`number`) of a client's treatment plan: problems, goals (which may name
    scripts), objectives, interventions, frequency — sealed in `content`. The newest signed
    version is the current plan; a newer one supersedes it without touching it."""

    __tablename__ = "treatment_plans"
    __table_args__ = (
        sa.UniqueConstraint("client_id", "number", name="uq_treatment_plans_number"),
        # One draft per client, also when two requests start one at the same moment.
        sa.Index(
            "uq_treatment_plans_one_draft",
            "client_id",
            unique=True,
            sqlite_where=sa.text("status = 'draft'"),
            postgresql_where=sa.text("status = 'draft'"),
        ),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    number: Mapped[int]
    # When the plan is to be reviewed: plain, so "due for review" is a query, not a decrypt.
    review_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    signed_at: Mapped[datetime | None]


class RecordCodes(db.Model):
    """A practice's own lists: the service codes progress notes may bill and the diagnosis
    codes offered as quick picks. No row: the default service codes, no diagnosis list."""

    __tablename__ = "record_codes"

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"), primary_key=True)
    service_codes: Mapped[list] = mapped_column(sa.JSON)
    diagnosis_codes: Mapped[list] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
