"""The bare endpoints bench/request_cost.py compares the app with: Flask and raw psycopg
under the same gunicorn, the same query as the app's read, no authentication, no audit,
no schema. `gunicorn bench.bare_app:app` with DATABASE_URL set."""

from __future__ import annotations

import base64
import os
import threading

import psycopg
from flask import Flask, jsonify

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
