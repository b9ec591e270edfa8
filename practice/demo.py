"""A demo practice whose theme history is worth looking at.

Everyone in it is invented (emails end in @demo.practice.test). Each client has a year of
weekly sessions, most attended, and a signed process note for each attended one, in
which two or three scripts recur with several figures and, more and more, with the
therapist; a few enactments and ruptures; one early hypothesis merged into the focal
script. Everything goes through the domain services, so the data is what the API
would have stored. Deterministic: the same seed gives the same practice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from practice.audit import service as audit
from practice.auth import service as auth_service
from practice.auth import supervision
from practice.auth.models import Practice, User
from practice.clients import service as client_service
from practice.database import utcnow
from practice.demo_stories import CLIENTS, narrative
from practice.extensions import db
from practice.notes import figures as figure_service
from practice.notes import scripts as script_service
from practice.notes import service as notes
from practice.notes.template import clean_content
from practice.record import demo as record_demo
from practice.scheduling import service as scheduling

DEMO_PASSWORD = "quiet harbour maple lantern"  # noqa: S105 (published: it is the demo)
DEMO_TIMEZONE = "Europe/Berlin"
WEEKS = 52
UPCOMING = 2  # of the WEEKS, this many are still ahead
STAFF = (
    ("owner", "Wren Halloway (demo owner)", "owner@demo.practice.test", ["owner"]),
    ("ilse", "Ilse Marrow", "ilse.marrow@demo.practice.test", ["clinician", "supervisor"]),
    ("tomas", "Tomas Quillfeather", "tomas.quillfeather@demo.practice.test", ["clinician"]),
    ("desk", "Pim Oakes (front desk)", "frontdesk@demo.practice.test", ["scheduler"]),
)


@dataclass
class DemoResult:
    practice: Practice
    users: list[User]
    clients: int = 0
    appointments: int = 0
    notes: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)


def any_practice() -> bool:
    """True when the database already holds a practice."""
    return db.session.scalar(sa.select(Practice.id).limit(1)) is not None


def create_demo(seed: int = 7, today: date | None = None) -> DemoResult:
    """Create the demo practice (flushes; the caller commits)."""
    zone = ZoneInfo(DEMO_TIMEZONE)
    today = today or utcnow().astimezone(zone).date()
    practice = auth_service.create_practice("Lindenhof Demo Practice", DEMO_TIMEZONE)
    staff = {}
    for key, name, email, roles in STAFF:
        staff[key] = auth_service.create_user(
            practice, email=email, name=name, roles=roles, password=DEMO_PASSWORD
        )
    # Tomas asked for Ilse as his supervisor and accepted: in effect from the start.
    link, _created = supervision.request(staff["owner"], staff["ilse"], staff["tomas"])
    supervision.accept(staff["tomas"], link)
    result = DemoResult(practice, list(staff.values()))
    result.logins = [(u.email, ", ".join(u.roles)) for u in result.users]
    first_day = today - timedelta(weeks=WEEKS - UPCOMING)
    for index, story in enumerate(CLIENTS):
        clinician = staff[story["clinician"]]
        start_day = first_day + timedelta(days=story["weekday"] - first_day.weekday())
        if start_day > first_day:
            start_day -= timedelta(weeks=1)
        appointments, written = _client_year(
            clinician, story, start_day, story["hour"], zone, today, random.Random(seed + index)
        )
        result.clients += 1
        result.appointments += appointments
        result.notes += written
    audit.record(
        db.session,
        "practice.demo",
        object_type="practice",
        object_id=practice.id,
        actor=staff["owner"],
    )
    db.session.flush()
    return result


def _client_year(clinician, story, start_day, hour, zone, today, rng) -> tuple[int, int]:
    """One client: figures, scripts, a weekly series, statuses and a note per session."""
    client = client_service.create_client(
        clinician,
        {
            "first_name": story["first_name"],
            "last_name": story["last_name"],
            "email": f"{story['first_name'].lower()}@demo.practice.test",
            "primary_clinician_id": clinician.id,
            "intake_date": start_day,
        },
    )
    therapist = figure_service.ensure_therapist_figure(client, clinician)
    figures = {"therapist": therapist}
    for key, label, role in story["figures"]:
        figures[key] = figure_service.create_figure(
            clinician, client, {"label": label, "role": role, "period": "current"}
        )
    scripts = {}
    for spec in story["scripts"]:
        payload = {k: spec[k] for k in ("name", "wish", "response_of_other", "response_of_self")}
        payload["origin"] = spec["origin"]
        scripts[spec["key"]] = script_service.create_script(
            clinician, client, payload, spec["status"]
        )
    starts = datetime.combine(start_day, time(hour, 0), tzinfo=zone)
    series = scheduling.book(
        clinician,
        {
            "client_id": client.id,
            "clinician_id": clinician.id,
            "starts_at": starts,
            "duration_minutes": 50,
            "kind": "individual",
            "modality": "in_person" if rng.random() < 0.7 else "video",
            "recurrence": {"every_weeks": 1, "count": WEEKS},
        },
    )
    written, attended, held = 0, 0, []
    for appointment in series:
        day = appointment.starts_at.astimezone(zone).date()
        if day >= today:
            continue
        roll = rng.random()
        if roll < 0.06:
            appointment.status, appointment.cancelled_by = "cancelled", "client"
            appointment.cancel_category = "transport"
        elif roll < 0.09:
            appointment.status = "no_show"
        else:
            appointment.status = "attended"
        appointment.status_changed_at = appointment.starts_at + timedelta(minutes=50)
        if appointment.status != "attended":
            continue
        attended += 1
        held.append(appointment)
        content = clean_content(_note_content(story, attended, figures, scripts, rng))
        note = notes.create_note(clinician, client, day, content, appointment.id)
        written += 1
        if day < today - timedelta(days=3):
            notes.sign_note(note)
        if attended == story.get("merge_after", 0) and "merged" in scripts:
            script_service.merge_script(client, scripts["merged"], scripts["focal"].id)
    # The record beside the notes: a signed plan naming the focal script, progress notes.
    index = CLIENTS.index(story)
    record_demo.add_record(clinician, client, scripts.get("focal"), held, today, index)
    return len(series), written


def _note_content(story, session: int, figures, scripts, rng) -> dict:
    """One session's note: episodes, transference, enactment or rupture, narrative."""
    progress = min(session / 45, 1.0)
    episodes = []
    for spec in story["scripts"]:
        if spec["key"] == "merged" and session > story.get("merge_after", 0):
            continue
        if rng.random() >= spec["weight"]:
            continue
        key = rng.choice(spec["figures"])
        negative = (
            rng.random()
            < spec["ro_negative"][0] + (spec["ro_negative"][1] - spec["ro_negative"][0]) * progress
        )
        episodes.append(
            {
                "figure_id": str(figures[key].id),
                "when": rng.choice(spec.get("when", ["current", "current", "past"])),
                "wish": spec["wish"],
                "response_of_other": spec["response_of_other"],
                "response_of_self": spec["response_of_self"],
                "ro_valence": "negative" if negative else "positive",
                "rs_valence": "negative" if negative or rng.random() < 0.3 else "positive",
                "script_id": str(scripts[spec["key"]].id),
                "fit": "clear" if rng.random() < 0.7 else "partial",
            }
        )
    content: dict = {
        "scripts_active": sorted({e["script_id"] for e in episodes}),
        "relationship_episodes": episodes,
        "narrative": narrative(session, rng),
    }
    focal = story["scripts"][0]
    if rng.random() < 0.1 + 0.35 * progress:
        content["transference"] = {
            "present": True,
            "therapist_experienced_as": focal["transference_as"],
            "valence": "negative" if rng.random() < 0.7 else "mixed",
            "intensity": rng.randint(1, 3),
            "handling": rng.choice(["noted", "explored", "interpreted"]),
            "script_id": str(scripts["focal"].id),
            "text": focal["transference_text"],
        }
    if session in story["enactments"]:
        content["enactments"] = [
            {
                "summary": story["enactments"][session],
                "initiated_by": "co_created",
                "recognised": "later_in_session",
                "processed": "partly",
                "script_id": str(scripts["focal"].id),
            }
        ]
    if session in story["ruptures"]:
        content["ruptures"] = [
            {
                "type": story["ruptures"][session],
                "markers": ["long silence", "minimal answers"],
                "intensity": 3,
                "therapist_contribution": 1,
                "repair": ["invited_discussion", "acknowledged_own_part", "linked_to_pattern"],
                "resolution": "resolved" if session % 2 else "partial",
                "script_id": str(scripts["focal"].id),
            }
        ]
    return content
