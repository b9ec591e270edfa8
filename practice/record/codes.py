"""A practice's record codes: the service codes its progress notes bill (default: the
psychotherapy CPT codes) and the diagnosis codes it offers as quick picks."""

from __future__ import annotations

import uuid

from practice.audit import service as audit
from practice.database import utcnow
from practice.extensions import db
from practice.record.content import DEFAULT_SERVICE_CODES
from practice.record.models import RecordCodes


def codes_of(practice_id: uuid.UUID) -> dict[str, list[str]]:
    """The practice's lists (the defaults when it never set its own)."""
    row = db.session.get(RecordCodes, practice_id)
    if row is None:
        return {"service_codes": list(DEFAULT_SERVICE_CODES), "diagnosis_codes": []}
    return {"service_codes": list(row.service_codes), "diagnosis_codes": list(row.diagnosis_codes)}


def set_codes(practice_id: uuid.UUID, service_codes: list[str], diagnosis_codes: list[str]) -> dict:
    """Replace the practice's lists (an owner's change; audited). Notes already written keep
    the codes they name."""
    row = db.session.get(RecordCodes, practice_id)
    if row is None:
        row = RecordCodes(practice_id=practice_id)
        db.session.add(row)
    row.service_codes = list(service_codes)
    row.diagnosis_codes = list(diagnosis_codes)
    row.updated_at = utcnow()
    db.session.flush()
    audit.record(db.session, "record_codes.update", object_type="practice", object_id=practice_id)
    return codes_of(practice_id)
