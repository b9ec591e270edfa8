"""The bare endpoints bench/request_cost.py compares the app with: Flask and raw psycopg
under the same gunicorn, the same query as the app's read, no authentication, no audit,
no schema. `gunicorn bench.bare_app:app` with DATABASE_URL set."""

from __future__ import annotations

import base64
import os
import threading
from datetime import datetime, timedelta

import psycopg
from flask import Flask, abort, jsonify, request

app = Flask(__name__)
_local = threading.local()
_DSN = os.environ.get("DATABASE_URL", "").replace("postgresql+psycopg://", "postgresql://", 1)


def _connection() -> psycopg.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        connection = _local.connection = psycopg.connect(_DSN, autocommit=True)
    return connection


@app.get("/bare/notes/<uuid:note_id>")
def note(note_id):
    row = (
        _connection()
        .execute(
            "SELECT id, client_id, author_id, session_date, status, version, content, created_at, "
            "updated_at FROM process_notes WHERE id = %s",
            (note_id,),
        )
        .fetchone()
    )
    if row is None:
        abort(404)
    return jsonify(
        id=str(row[0]),
        client_id=str(row[1]),
        author_id=str(row[2]),
        session_date=row[3].isoformat(),
        status=row[4],
        version=row[5],
        content=base64.b64encode(row[6]).decode(),
        created_at=row[7].isoformat(),
        updated_at=row[8].isoformat(),
    )


@app.get("/bare/clients/<uuid:practice_id>")
def clients(practice_id):
    rows = (
        _connection()
        .execute(
            "SELECT id, first_name, last_name, status, created_at, count(*) OVER () "
            "FROM clients WHERE practice_id = %s ORDER BY last_name, id LIMIT 50",
            (practice_id,),
        )
        .fetchall()
    )
    total = rows[0][5] if rows else 0
    items = [{"id": str(r[0]), "first_name": r[1], "last_name": r[2], "status": r[3]} for r in rows]
    return jsonify(items=items, total=total)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@app.get("/bare/week/<uuid:practice_id>/<uuid:clinician_id>")
def week(practice_id, clinician_id):
    """The clinician's appointments overlapping [start, end), as the app's list asks
    (practice, clinician, the overlap bounded as scheduling.conflicts.overlapping bounds it
    with MAX_DURATION, by start, the count beside)."""
    start = datetime.fromisoformat(request.args["start"])
    end = datetime.fromisoformat(request.args["end"])
    rows = (
        _connection()
        .execute(
            "SELECT id, client_id, clinician_id, room_id, series_id, series_index, detached, "
            "starts_at, ends_at, kind, modality, status, cancelled_by, cancel_category, "
            "cancel_note IS NOT NULL, status_changed_at, created_at, updated_at, count(*) OVER () "
            "FROM appointments WHERE practice_id = %s AND clinician_id = %s "
            "AND starts_at < %s AND starts_at >= %s AND ends_at > %s "
            "ORDER BY starts_at, id LIMIT 50",
            (practice_id, clinician_id, end, start - timedelta(hours=12), start),
        )
        .fetchall()
    )
    total = rows[0][18] if rows else 0
    items = [
        {
            "id": str(r[0]),
            "client_id": str(r[1]),
            "clinician_id": str(r[2]),
            "room_id": str(r[3]) if r[3] else None,
            "series_id": str(r[4]) if r[4] else None,
            "series_index": r[5],
            "detached": r[6],
            "starts_at": r[7].isoformat(),
            "ends_at": r[8].isoformat(),
            "duration_minutes": int((r[8] - r[7]).total_seconds() // 60),
            "kind": r[9],
            "modality": r[10],
            "status": r[11],
            "cancelled_by": r[12],
            "cancel_category": r[13],
            "cancel_reason": None,
            "has_cancel_reason": r[14],
            "status_changed_at": _iso(r[15]),
            "created_at": r[16].isoformat(),
            "updated_at": r[17].isoformat(),
        }
        for r in rows
    ]
    return jsonify(items=items, page=1, page_size=50, total=total)
