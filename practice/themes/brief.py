"""Before the session: what a clinician reads before seeing a client, built from the theme
history and the notes it names (nothing stored).

- the last note's summary and plan;
- the scripts seen in the last four sessions, and those not seen for four sessions or more;
- ruptures not (yet) resolved, the most recent first;
- the last enactment;
- the risk items answered above their threshold on the latest form of each measure
  (PHQ-9 item 9 above "Not at all"), and the theme history's rupture flag.
"""

from __future__ import annotations

import uuid
from datetime import date

from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys
from practice.measures.timeline import latest_risk_flags
from practice.notes.models import ProcessNote
from practice.notes.service import note_view
from practice.themes.loader import client_theme_history

RECENT_SESSIONS = 4
DORMANT_AFTER = 4  # sessions without the script
MAX_RUPTURES = 5


def _content(note_id: str, cipher) -> tuple[ProcessNote, dict]:
    note = db.session.get(ProcessNote, uuid.UUID(note_id))
    return note, note_view(note, cipher)["content"]


def session_brief(client: Client, authors: set, timezone: str, before: date) -> dict:
    """The brief for a session on `before`, over the signed notes of `authors` up to it.
    `read` lists the ids of the notes whose content it opened (for the audit)."""
    history = client_theme_history(client, authors, timezone, date_to=before)
    sessions = history["per_session"]
    cipher = client_keys.client_cipher(client)
    recent_ids = {s["note_id"] for s in sessions[-RECENT_SESSIONS:]}
    brief: dict = {
        "sessions": len(sessions),
        "last": None,
        "recent_scripts": [],
        "dormant_scripts": [],
        "ruptures": [],
        "last_enactment": None,
        "read": [],
        "risk_flags": latest_risk_flags(history),
        "rupture_flag": history["ruptures"]["flag"],
    }
    for script in history["scripts"]:
        seen = [t for t in script["timeline"] if t["note_id"] in recent_ids]
        if seen:
            brief["recent_scripts"].append({**script, "recent": seen})
        elif (script["sessions_since_last_seen"] or 0) >= DORMANT_AFTER:
            brief["dormant_scripts"].append(script)
    if not sessions:
        return brief
    opened: dict[str, dict] = {}

    def content(session: dict) -> dict:
        if session["note_id"] not in opened:
            _note, opened[session["note_id"]] = _content(session["note_id"], cipher)
            brief["read"].append(session["note_id"])
        return opened[session["note_id"]]

    last = sessions[-1]
    brief["last"] = {**last, "narrative": content(last).get("narrative") or {}}
    for session in reversed(sessions):
        if session["ruptures"] and len(brief["ruptures"]) < MAX_RUPTURES:
            for rupture in content(session).get("ruptures") or []:
                if rupture.get("resolution") != "resolved":
                    brief["ruptures"].append({**rupture, "session": session})
        if session["enactments"] and brief["last_enactment"] is None:
            enactments = content(session).get("enactments") or []
            if enactments:
                brief["last_enactment"] = {**enactments[-1], "session": session}
    brief["ruptures"] = brief["ruptures"][:MAX_RUPTURES]
    return brief
