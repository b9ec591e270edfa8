"""Why an appointment was cancelled: a pick-list category in the clear, and free text
sealed under the client's data key, because a reason can be clinical ("back in hospital").

Who reads what: everyone who sees the appointment (owners, schedulers, its clinician)
sees the category and whether a reason was written; the words only those who do
clinical work for the client (policy.can_do_clinical_work: a clinician assigned to
them). Schedulers and owners write the words when they take the call, but do not read
them back. A shredded client's reasons are gone with their key (shown as none).
"""

from __future__ import annotations

from practice.auth import policy
from practice.auth.models import User
from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys
from practice.keys.errors import ShreddedKeyError
from practice.scheduling.models import Appointment

TABLE, COLUMN = "appointments", "cancel_note"
MAX_REASON = 500


def seal_reason(client: Client, appointment: Appointment, text: str | None) -> bytes | None:
    """The sealed form of `text` for this appointment's row (None for no text)."""
    if not text:
        return None
    return client_keys.seal(client, TABLE, COLUMN, appointment.id, text)


def reason_for(user: User, appointment: Appointment) -> str | None:
    """The cancellation reason's words when `user` may read them, else None."""
    if appointment.cancel_note is None:
        return None
    client = db.session.get(Client, appointment.client_id)
    if client is None or not policy.can_do_clinical_work(user, client):
        return None
    try:
        return client_keys.unseal(client, TABLE, COLUMN, appointment.id, appointment.cancel_note)
    except ShreddedKeyError:
        return None
