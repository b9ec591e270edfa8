"""Possible duplicates of a client being registered: the same name and date of birth, or
the same email (ignoring case) or phone number (both in E.164, normalised with the
practice's phone region before this is asked).

Only clients the caller may see are named: a clinician registering a client learns
nothing about clients outside their care (that someone is a client is itself private).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from practice.clients.models import Client
from practice.errors import Conflict
from practice.extensions import db

# Why a client was named, in the API's words (the page says them in plain English).
NAME_AND_BIRTH = "name_and_date_of_birth"
EMAIL = "email"
PHONE = "phone"
REASON_WORDS = {
    NAME_AND_BIRTH: "same name and date of birth",
    EMAIL: "same email",
    PHONE: "same phone number",
}
MAX_CANDIDATES = 10
ROWS_READ = 200  # rows that matched in the database, checked exactly here


@dataclass
class Candidate:
    client: Client
    reasons: list[str] = field(default_factory=list)


class PossibleDuplicate(Conflict):
    """The new record looks like one already registered (a 409 naming the candidates'
    ids and what matched, nothing else); `candidates` for the page, which shows more."""

    def __init__(self, candidates: list[Candidate]):
        self.candidates = candidates
        super().__init__(
            "This may be a client already registered; check the named records, or send "
            '"allow_duplicate": true to register a new one anyway.',
            details={
                "duplicates": [
                    {"client_id": str(c.client.id), "matched": list(c.reasons)} for c in candidates
                ]
            },
        )


def _same_name(client: Client, record: dict) -> bool:
    return Client.fold(client.first_name) == Client.fold(record.get("first_name")) and (
        Client.fold(client.last_name) == Client.fold(record.get("last_name"))
    )


def find(visible: sa.Select, record: dict) -> list[Candidate]:
    """The visible clients (`visible`, a select of Client scoped to the caller) that look
    like `record` (the cleaned demographics of a new client), at most MAX_CANDIDATES."""
    checks = []
    born, email, phone = record.get("date_of_birth"), record.get("email"), record.get("phone")
    if born is not None:
        # name_search holds the names folded as Client.fold folds them, so the database
        # narrows by birth date and last name; the exact names are compared below.
        last = Client.fold(record.get("last_name")).replace("\\", "\\\\")
        last = last.replace("%", "\\%").replace("_", "\\_")
        checks.append(
            sa.and_(
                Client.date_of_birth == born,
                Client.name_search.like(f"%{last}%", escape="\\"),
            )
        )
    if email:
        checks.append(sa.func.lower(Client.email) == email.strip().lower())
    if phone:
        checks.append(Client.phone == phone)
    if not checks:
        return []
    query = visible.where(sa.or_(*checks)).order_by(None).order_by(Client.created_at, Client.id)
    found: list[Candidate] = []
    for client in db.session.scalars(query.limit(ROWS_READ)):
        reasons = []
        if born is not None and client.date_of_birth == born and _same_name(client, record):
            reasons.append(NAME_AND_BIRTH)
        if email and (client.email or "").lower() == email.strip().lower():
            reasons.append(EMAIL)
        if phone and client.phone == phone:
            reasons.append(PHONE)
        if reasons:
            found.append(Candidate(client, reasons))
        if len(found) == MAX_CANDIDATES:
            break
    return found
