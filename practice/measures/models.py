"""A measure recorded for a session: which instrument, which appointment, and the
responses and score sealed under the client's data key (they are clinical values)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from practice.database import IdMixin, utcnow
from practice.extensions import db

# Where a form's sealed part lives: its associated data names this table and column.
TABLE, COLUMN = "measure_scores", "responses"

# Why a form was entered in error: categories, never free text (no clinical words).
VOID_REASONS = {
    "wrong_client": "Recorded for the wrong client",
    "wrong_session": "Recorded for the wrong session",
    "wrong_answers": "Answers entered wrongly",
    "duplicate": "Recorded twice",
}


class MeasureScore(IdMixin, db.Model):
    """One completed form of one instrument for one appointment of the client.

    Plain: ids, the instrument's id and definition version, the session's local date
    (to order and window scores without decrypting). Sealed in `responses`: the answers,
    the total, whether it was prorated and which risk items were answered above their
    threshold. One form per instrument per appointment, among the forms not void.

    A form entered in error is voided, never deleted: `voided_at`, `voided_by` and
    `void_reason` (a category from VOID_REASONS) are set and the sealed value stays as it
    was; every reader leaves a void form out of scores, bands, change and flags.
    """

    __tablename__ = "measure_scores"
    __table_args__ = (
        sa.Index(
            "uq_measure_scores_session",
            "appointment_id",
            "instrument",
            unique=True,
            sqlite_where=sa.text("voided_at IS NULL"),
            postgresql_where=sa.text("voided_at IS NULL"),
        ),
        sa.Index("ix_measure_scores_client_date", "client_id", "session_date"),
    )

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"))
    appointment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("appointments.id"))
    instrument: Mapped[str] = mapped_column(sa.String(32))
    instrument_version: Mapped[int]
    session_date: Mapped[date]
    recorded_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    responses: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(sa.String(32))


# What the client report and the theme timeline read of every form, in this order (the
# timeline's rows are read by position).
FORM_COLUMNS = (
    MeasureScore.id,
    MeasureScore.appointment_id,
    MeasureScore.session_date,
    MeasureScore.instrument,
    MeasureScore.created_at,
    MeasureScore.voided_at,
)
