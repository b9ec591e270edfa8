"""A practice's day through a client generated from /api/openapi.json by
openapi-python-client. Runs in the generator's own virtualenv (never the app's), imports
nothing of the app: only the generated package `practice_api_client`.

Usage: python openapi_scenario.py BASE_URL EMAIL PASSWORD; prints what it saw as JSON.
Every call raises on a status the document does not list (raise_on_unexpected_status).
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from practice_api_client import AuthenticatedClient, Client
from practice_api_client.api.appointments import post_api_v1_appointments
from practice_api_client.api.auth import get_api_v1_auth_me, post_api_v1_auth_login
from practice_api_client.api.clients import post_api_v1_clients
from practice_api_client.api.notes import (
    post_api_v1_clients_client_id_notes,
    post_api_v1_notes_note_id_sign,
    put_api_v1_notes_note_id,
)
from practice_api_client.api.scripts import post_api_v1_clients_client_id_scripts
from practice_api_client.api.themes import (
    get_api_v1_clients_client_id_themes,
    get_api_v1_clients_client_id_themes_csv,
)
from practice_api_client.api.tokens import post_api_v1_auth_tokens
from practice_api_client.models import (
    AppointmentCreateWithDurationMinutes,
    AppointmentCreateWithDurationMinutesKind,
    AppointmentCreateWithDurationMinutesModality,
    ClientCreate,
    Episode,
    Error,
    Login,
    Narrative,
    NoteContent,
    NoteCreate,
    NoteReplace,
    ScriptCreate,
    TokenCreate,
)


def token_for(base_url: str, email: str, password: str) -> str:
    """Sign in with the session cookie, then create a personal API token with it."""
    with Client(base_url=base_url, raise_on_unexpected_status=True) as session:
        login = post_api_v1_auth_login.sync(client=session, body=Login(email, password))
        session.with_headers({"X-CSRF-Token": login.csrf_token})
        # Asking for the password again (recent authentication) is what the document says.
        again = {"password": password} if "password" in TokenCreate.__annotations__ else {}
        created = post_api_v1_auth_tokens.sync(
            client=session, body=TokenCreate(name="generated client", **again)
        )
        return created.secret


def content(summary: str, script_id) -> NoteContent:
    episode = Episode(wish=f"to be seen ({summary})", script_id=str(script_id))
    return NoteContent(
        scripts_active=[str(script_id)],
        relationship_episodes=[episode],
        narrative=Narrative(summary=summary),
    )


def main(base_url: str, email: str, password: str) -> dict:
    seen: dict = {}
    api = AuthenticatedClient(
        base_url=base_url,
        token=token_for(base_url, email, password),
        raise_on_unexpected_status=True,
    )
    with api:
        me = get_api_v1_auth_me.sync(client=api)
        seen["roles"] = sorted(me.roles)
        person = post_api_v1_clients.sync(
            client=api,
            body=ClientCreate(
                first_name="Wenzel", last_name="Brightwater", primary_clinician_id=me.id
            ),
        )
        day = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
        starts = day - dt.timedelta(days=1)
        booking = post_api_v1_appointments.sync(
            client=api,
            body=AppointmentCreateWithDurationMinutes(
                client_id=person.id,
                clinician_id=me.id,
                starts_at=starts,
                duration_minutes=50,
                kind=AppointmentCreateWithDurationMinutesKind.INDIVIDUAL,
                modality=AppointmentCreateWithDurationMinutesModality.IN_PERSON,
            ),
        )
        seen["booking"] = {
            "duration": booking.duration_minutes,
            "ends_at": booking.ends_at.isoformat(),
        }
        script = post_api_v1_clients_client_id_scripts.sync(
            client_id=person.id, client=api, body=ScriptCreate(name="Seeking approval")
        )
        created = post_api_v1_clients_client_id_notes.sync_detailed(
            client_id=person.id,
            client=api,
            body=NoteCreate(
                session_date=starts.date(),
                appointment_id=booking.id,
                content=content("first draft", script.id),
            ),
        )
        note = created.parsed
        seen["created"] = {"version": note.version, "etag": created.headers["etag"]}
        stale = put_api_v1_notes_note_id.sync_detailed(
            note_id=note.id,
            client=api,
            body=NoteReplace(content=content("lost edit", script.id)),
            if_match='"99"',
        )
        seen["stale"] = {
            "status": stale.status_code,
            "error": isinstance(stale.parsed, Error),
            "code": stale.parsed.code,
        }
        edited = put_api_v1_notes_note_id.sync_detailed(
            note_id=note.id,
            client=api,
            body=NoteReplace(content=content("second draft", script.id)),
            if_match=created.headers["etag"],
        )
        seen["edited"] = {
            "version": edited.parsed.version,
            "etag": edited.headers["etag"],
            "summary": edited.parsed.content.narrative.summary,
        }
        signed = post_api_v1_notes_note_id_sign.sync(
            note_id=note.id, client=api, if_match=edited.headers["etag"]
        )
        seen["signed"] = {"status": signed.status, "version": signed.version}
        history = get_api_v1_clients_client_id_themes.sync(client_id=person.id, client=api)
        seen["themes"] = [
            {"name": s.name, "sessions_observed": s.sessions_observed} for s in history.scripts
        ]
        csv = get_api_v1_clients_client_id_themes_csv.sync_detailed(client_id=person.id, client=api)
        seen["csv"] = {"status": csv.status_code, "type": csv.headers["content-type"]}
    return seen


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
