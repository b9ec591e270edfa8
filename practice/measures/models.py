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


class MeasureScore(IdMixin, db.Model):
    """One completed form of one instrument for one appointment of the client.

    Plain: ids, the instrument's id and definition version, the session's local date
    (to order and window scores without decrypting). Sealed in `responses`: the answers,
    the total, whether it was prorated and which risk items were answered above their
    threshold. One form per instrument per appointment.
    """

    __tablename__ = "measure_scores"
    __table_args__ = (
        sa.UniqueConstraint("appointment_id", "instrument", name="uq_measure_scores_session"),
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
