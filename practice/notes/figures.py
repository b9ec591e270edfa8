"""Figures: the people in a client's life, each client with one built-in therapist figure.

Label, role and period are sealed with the client's data key; a script that shows up
with the therapist figure *is* transference (CLINICAL.md).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from practice import paging
from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import User
from practice.clients.models import Client
from practice.database import new_id, utcnow
from practice.extensions import db
from practice.keys import client_keys
from practice.notes.access import get_clinical_client_for
from practice.notes.models import Figure
from practice.notes.rules import Invalid, owned_or_404, sealed_view

THERAPIST_FIGURE = {"label": "Therapist", "role": "therapist", "period": "current"}


def ensure_therapist_figure(client: Client, actor: User | None = None) -> Figure:
    """The client's built-in therapist figure, created on first need (idempotent)."""
    query = sa.select(Figure).where(Figure.client_id == client.id, Figure.is_therapist.is_(True))
    figure = db.session.scalar(query)
    if figure is not None:
        return figure
    figure = Figure(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        is_therapist=True,
        created_by=actor.id if actor else client.primary_clinician_id,
    )
    figure.payload = client_keys.seal(client, "figures", "payload", figure.id, THERAPIST_FIGURE)
    try:
        with db.session.begin_nested():
            db.session.add(figure)
    except IntegrityError:  # created by a concurrent request a moment ago
        return db.session.scalar(query)
    return figure


def figures_query(client: Client):
    """The client's figures, the therapist first, then in order of creation."""
    return (
        sa.select(Figure)
        .where(Figure.client_id == client.id)
        .order_by(Figure.is_therapist.desc(), Figure.created_at, Figure.id)
    )


FIGURE_COLUMNS = ("id", "client_id", "is_therapist", "created_at", "updated_at")


def figure_view(figure: Figure, cipher) -> dict:
    """A figure with its decrypted label, role and period."""
    return sealed_view(figure, cipher, "figures", FIGURE_COLUMNS)


def get_figure(client: Client, figure_id: uuid.UUID) -> Figure:
    """One figure of this client, or 404."""
    return owned_or_404(Figure, "figure", client, figure_id)


def create_figure(user: User, client: Client, payload: dict) -> Figure:
    """A new person in the client's life."""
    _refuse_second_therapist(payload)
    ensure_therapist_figure(client, user)
    figure = Figure(
        id=new_id(), practice_id=client.practice_id, client_id=client.id, created_by=user.id
    )
    figure.payload = client_keys.seal(client, "figures", "payload", figure.id, payload)
    db.session.add(figure)
    db.session.flush()
    audit.record(db.session, "figure.create", object_type="figure", object_id=figure.id)
    return figure


def update_figure(client: Client, figure: Figure, changes: dict) -> Figure:
    """Change label, role or period; the therapist figure keeps its role."""
    current = client_keys.unseal(client, "figures", "payload", figure.id, figure.payload)
    if figure.is_therapist and changes.get("role", "therapist") != "therapist":
        raise Invalid({"role": ["The built-in therapist figure keeps the role 'therapist'."]})
    if not figure.is_therapist:
        _refuse_second_therapist(changes)
    current.update(changes)
    figure.payload = client_keys.seal(client, "figures", "payload", figure.id, current)
    figure.updated_at = utcnow()
    db.session.flush()
    audit.record(db.session, "figure.update", object_type="figure", object_id=figure.id)
    return figure


def _refuse_second_therapist(payload: dict) -> None:
    if payload.get("role") == "therapist":
        raise Invalid(
            {
                "role": [
                    "Every client has one built-in therapist figure; for another "
                    "therapist in the client's life use 'authority' or 'other'."
                ]
            }
        )


# --- a client's figures, read and written (what the front ends call) ----------------
# Each checks access (practice/notes/access.py), audits, and seals or unseals.


def list_figures(user: User, client_id: uuid.UUID, *, page: int, page_size: int) -> dict:
    """One page of the client's figures, the built-in therapist figure first (created on
    first need by the client's clinicians; a supervisor's read never writes); audited."""
    client = get_clinical_client_for(user, client_id)
    if policy.can_do_clinical_work(user, client):
        ensure_therapist_figure(client, user)
    result = paging.paginate(figures_query(client), page, page_size)
    cipher = client_keys.client_cipher(client)
    audit.record(db.session, "figure.list", object_type="client", object_id=client.id)
    return {**result, "items": [figure_view(figure, cipher) for figure in result["items"]]}


def read_figure(
    user: User, client_id: uuid.UUID, figure_id: uuid.UUID, *, write: bool = False
) -> dict:
    """One figure of the client, decrypted and audited (`write`: for its editor)."""
    client = get_clinical_client_for(user, client_id, write=write)
    figure = get_figure(client, figure_id)
    audit.record(db.session, "figure.read", object_type="figure", object_id=figure.id)
    return figure_view(figure, client_keys.client_cipher(client))


def add_figure(user: User, client_id: uuid.UUID, payload: dict) -> dict:
    """A new person in the client's life (sealed, audited by create_figure)."""
    client = get_clinical_client_for(user, client_id, write=True)
    figure = create_figure(user, client, payload)
    return figure_view(figure, client_keys.client_cipher(client))


def change_figure(user: User, client_id: uuid.UUID, figure_id: uuid.UUID, changes: dict) -> dict:
    """Change a figure's label, role or period (sealed, audited by update_figure)."""
    client = get_clinical_client_for(user, client_id, write=True)
    figure = get_figure(client, figure_id)
    update_figure(client, figure, changes)
    return figure_view(figure, client_keys.client_cipher(client))
