"""Import every domain's models, so metadata (Alembic, tests) sees all tables."""

from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.auth.models import ApiToken, Practice, Supervision, User, UserSession
from practice.clients.models import CareTeamMember, Client
from practice.keys.models import ClientDataKey
from practice.measures.models import MeasureScore
from practice.notes.models import Figure, NoteAddendum, ProcessNote, Script
from practice.record.models import ProgressNote, ProgressNoteAddendum, RecordCodes, TreatmentPlan
from practice.scheduling.models import Appointment, AppointmentSeries, CalendarFeed, Room

__all__ = [
    "ApiToken",
    "Appointment",
    "AppointmentSeries",
    "AuditCheckpoint",
    "AuditEntry",
    "CalendarFeed",
    "CareTeamMember",
    "Client",
    "ClientDataKey",
    "Figure",
    "MeasureScore",
    "NoteAddendum",
    "Practice",
    "ProcessNote",
    "ProgressNote",
    "ProgressNoteAddendum",
    "RecordCodes",
    "Room",
    "Script",
    "Supervision",
    "TreatmentPlan",
    "User",
    "UserSession",
]
