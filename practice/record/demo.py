"""The demo practice's clinical record: for each demo client a signed treatment plan whose
goal names the client's focal script, and progress notes for the last sessions (the last
one a draft), so the pages show a record from the first `make run`. Invented words only."""

from __future__ import annotations

from datetime import date, timedelta

from practice.actor import Actor
from practice.record import plans, progress

RATINGS = ("no_change", "some_progress", "some_progress", "good_progress")
PICKS = {"mood": "anxious", "affect": "restricted", "insight": "fair", "judgement": "good"}


def add_record(clinician, client, script, sessions: list, today: date, index: int) -> int:
    """A signed plan (the first client's due for review soon) and progress notes for the
    last four attended `sessions`; returns how many notes were written."""
    actor = Actor.cli(clinician)
    goal = {
        "text": "Notice the script as it happens, with the therapist and outside",
        "script_ids": [str(script.id)] if script is not None else [],
        "objectives": [
            {"text": "Names the pattern in session at least twice a month",
             "target_date": (today + timedelta(weeks=12)).isoformat()},
        ],
    }  # fmt: skip
    content = {
        "problems": ["Low mood and withdrawal after disappointments in close relationships"],
        "goals": [goal, {"text": "Ask for support once a week without apologising"}],
        "interventions": ["Exploration of the transference", "Clarification", "Supportive"],
        "session_frequency": "weekly",
    }
    review = today + timedelta(days=10 if index == 0 else 70)
    plan, _content = plans.create_plan(actor, client, content, review)
    plans.sign_plan(plan, client, plan.version)
    goal_id = plans.goals_of(plans.open_content(plan, client))
    first_goal = next(iter(goal_id))
    written = 0
    recent = sessions[-4:]
    for number, appointment in enumerate(recent):
        note_content = {
            "service_code": "90834",
            "diagnoses": ["F34.1"] if index % 2 else ["F41.1"],
            "presenting_concerns": "Tension at work; sleeping a little better.",
            "mental_status": {name: {"pick": pick, "text": ""} for name, pick in PICKS.items()},
            "risk": {"risk_level": "low", "protective_factors": "Friends, work, a sister nearby."},
            "interventions": ["clarification", "exploration_of_transference"],
            "goal_progress": [{"goal_id": first_goal, "rating": RATINGS[number], "text": ""}],
            "plan": "Continue weekly.",
        }
        note, _saved = progress.create_note(actor, client, appointment.id, note_content)
        if appointment is not recent[-1]:
            progress.sign_note(note, client, note.version)
        written += 1
    return written
