"""GET /api/v1/clients/{id}/themes (JSON, CSV, SVG): access, windows, formats, audit."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.clients.models import CareTeamMember
from practice.extensions import db
from tests.factories import (
    bearer,
    end_supervision,
    link_supervisor,
    make_client,
    make_practice,
    make_user,
)
from tests.themes.factories import (
    episode,
    make_attended,
    make_figure,
    make_note,
    make_script,
)

START = date(2026, 1, 5)
CANARY = "Zebracanary criticises the achievement"
FORMATS = ("themes", "themes.csv", "themes.svg")


class World:
    """A practice with a clinician's client, colleagues around it, and another practice."""

    def __init__(self):
        self.practice = make_practice()
        self.owner = make_user(self.practice, ["owner"])
        self.author = make_user(self.practice, ["clinician"])
        self.colleague = make_user(self.practice, ["clinician"])
        self.scheduler = make_user(self.practice, ["scheduler"])
        self.supervisor = make_user(self.practice, ["supervisor"])
        link_supervisor(self.owner, self.supervisor, self.author)
        self.client = make_client(self.practice, self.author)
        elsewhere = make_practice("Far Meadow Clinic")
        self.stranger = make_user(elsewhere, ["owner", "clinician", "supervisor"])
        self.father = make_figure(self.client, self.author, "Dad", "father")
        self.partner = make_figure(self.client, self.author, "Robin", "partner")
        self.therapist = make_figure(
            self.client, self.author, "therapist", "therapist", therapist=True
        )
        self.old = make_script(self.client, self.author, "Old wording")
        self.critic = make_script(self.client, self.author, CANARY, status="focal")
        self.old.merged_into_id = self.critic.id
        self.rescue = make_script(self.client, self.author, "=Rescues, then resents")

    def week(self, n: int) -> date:
        return START + timedelta(weeks=n)

    def url(self, fmt="themes", client_id=None, query=""):
        return f"/api/v1/clients/{client_id or self.client.id}/{fmt}{query}"


@pytest.fixture
def world():
    w = World()
    appointments = [make_attended(w.client, w.author, w.week(i)) for i in range(8)]
    make_attended(w.client, w.author, w.week(8), status="no_show")
    w.notes = [
        make_note(
            w.client,
            w.author,
            w.week(0),
            {"relationship_episodes": [episode(w.father, w.old, when="childhood")]},
            appointment=appointments[0],
        ),
        make_note(
            w.client,
            w.author,
            w.week(2),
            {"relationship_episodes": [episode(w.partner, w.critic), episode(w.partner, w.rescue)]},
            appointment=appointments[2],
        ),
        make_note(
            w.client,
            w.author,
            w.week(3),
            {
                "transference": {
                    "present": True,
                    "valence": "negative",
                    "script_id": str(w.critic.id),
                },
                "enactments": [{"summary": "x", "script_id": str(w.critic.id)}],
            },
            appointment=appointments[3],
        ),
        make_note(
            w.client,
            w.author,
            w.week(5),
            {"relationship_episodes": [episode(w.father, w.critic)]},
            status="draft",
            appointment=appointments[5],
        ),
    ]
    return w


def get(client, user, url):
    """GET as `user`; test rows are committed first (a savepoint: a refused request's
    rollback would otherwise take them with it)."""
    headers = bearer(user)
    db.session.commit()
    return client.get(url, headers=headers)


def script_of(body, script_id):
    return next(s for s in body["scripts"] if s["script_id"] == str(script_id))


def test_author_sees_history_of_their_signed_notes(client, world):
    response = get(client, world.author, world.url())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["client_id"] == str(world.client.id)
    assert (body["sessions"], body["episodes"]) == (3, 3)
    assert [s["script_id"] for s in body["scripts"]] == [str(world.critic.id), str(world.rescue.id)]
    critic = script_of(body, world.critic.id)
    assert critic["name"] == CANARY
    assert critic["sessions_observed"] == 3  # the merged script's week 0 folds in
    assert critic["by_figure_role"] == {"father": 1, "partner": 1, "therapist": 1}
    assert critic["first_seen"] == {
        "date": "2026-01-05",
        "session_number": 1,
        "note_id": str(world.notes[0].id),
    }
    assert critic["last_seen"]["session_number"] == 4  # the attended-session count
    assert critic["transference_count"] == 1 and critic["enactment_count"] == 1
    assert [p["session_number"] for p in body["per_session"]] == [1, 3, 4]
    assert body["pervasiveness"]["label"].startswith("clinician-selected")


def test_notes_off_an_attended_session_are_numbered_by_local_date(client, world):
    # 23:30 UTC on a Sunday is already Monday in the practice's zone (Europe/Berlin).
    sunday = world.week(9) - timedelta(days=1)
    make_attended(world.client, world.author, sunday, at=time(23, 30))
    off = [
        make_note(world.client, world.author, world.week(6) + timedelta(days=1), {}),
        make_note(world.client, world.author, sunday, {}),
        make_note(world.client, world.author, world.week(9), {}),
    ]
    body = get(client, world.author, world.url()).get_json()
    numbers = {p["note_id"]: p["session_number"] for p in body["per_session"]}
    # Weeks 0-6 attended; week 8 was a no-show; the late session counts from Monday.
    assert [numbers[str(n.id)] for n in off] == [7, 8, 9]
    assert [numbers[str(n.id)] for n in world.notes[:3]] == [1, 3, 4]


def test_drafts_and_window(client, world):
    body = get(client, world.author, world.url(query="?include_drafts=true")).get_json()
    assert body["sessions"] == 4
    assert script_of(body, world.critic.id)["last_seen"]["session_number"] == 6
    body = get(client, world.author, world.url(query="?from=2026-01-19&to=2026-01-26")).get_json()
    assert (body["from"], body["to"], body["sessions"]) == ("2026-01-19", "2026-01-26", 2)
    assert script_of(body, world.critic.id)["first_seen"]["session_number"] == 3


def test_supervisor_reads_supervisee_history_while_linked(client, world):
    assert get(client, world.supervisor, world.url()).get_json()["sessions"] == 3
    end_supervision(world.supervisor, world.author)
    assert get(client, world.supervisor, world.url()).status_code == 404


def test_supervisor_of_an_author_outside_the_care_reads_notes_not_history(client, world):
    """Theme history belongs to the client's current care: supervising someone who once
    wrote about the client opens their notes, not the history (and its scripts)."""
    other = make_user(world.practice, ["clinician"])
    client_row = make_client(world.practice, world.colleague)
    make_note(client_row, other, START, {"scripts_active": []})
    link_supervisor(world.owner, world.supervisor, other)
    for fmt in FORMATS:
        assert (
            get(client, world.supervisor, world.url(fmt, client_id=client_row.id)).status_code
            == 404
        )
    notes = get(client, world.supervisor, f"/api/v1/clients/{client_row.id}/notes")
    assert notes.status_code == 200 and notes.get_json()["total"] == 1


def test_colleague_sees_only_their_own_notes(client, world):
    db.session.add(CareTeamMember(client_id=world.client.id, user_id=world.colleague.id))
    db.session.flush()
    db.session.expire(world.client)
    body = get(client, world.colleague, world.url()).get_json()
    assert body["sessions"] == 0 and body["episodes"] == 0
    assert CANARY in [s["name"] for s in body["scripts"]]  # scripts are the care team's


@pytest.mark.parametrize("who", ["owner", "colleague", "scheduler", "stranger"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_others_get_404_and_a_denial_is_audited(client, world, who, fmt):
    user = getattr(world, who)
    response = get(client, user, world.url(fmt))
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
    assert CANARY not in response.get_data(as_text=True)
    denied = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.actor_id == user.id, AuditEntry.action == "access.denied"
        )
    ).all()
    assert [e.object_id for e in denied] == [str(world.client.id)]


def test_owner_who_is_the_author_sees_it(client, world):
    world.author.roles = ["owner", "clinician"]
    assert get(client, world.author, world.url()).status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_is_401(client, world, fmt):
    assert client.get(world.url(fmt)).status_code == 401


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_and_non_uuid_clients_are_404(client, world, fmt):
    assert get(client, world.author, world.url(fmt, client_id=uuid.uuid4())).status_code == 404
    for bad in ("not-a-uuid", "1' OR '1'='1", "%C3%BC"):
        assert get(client, world.author, f"/api/v1/clients/{bad}/{fmt}").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "?from=2026-02-01&to=2026-01-01",
        "?from=yesterday",
        "?to=2026-13-45",
        "?include_drafts=perhaps",
        "?from=" + "9" * 5000,
        "?from=2026-01-01'%3B DROP TABLE process_notes;--",
        "?from=%F0%9F%98%80",
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_query_is_422(client, world, query, fmt):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    response = get(client, world.author, world.url(fmt, query=query))
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == 422 and "errors" in body
    after = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action.like("themes.%"))
    )
    assert after == 0 and before >= 0


@pytest.mark.parametrize(
    "fmt,action",
    [("themes", "themes.read"), ("themes.csv", "themes.export"), ("themes.svg", "themes.export")],
)
def test_every_read_is_audited_with_ids_only(client, world, fmt, action):
    assert get(client, world.author, world.url(fmt)).status_code == 200
    entries = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.actor_id == world.author.id, AuditEntry.action == action
        )
    ).all()
    assert [(e.object_type, e.object_id, e.outcome) for e in entries] == [
        ("client", str(world.client.id), "success")
    ]
    for entry in db.session.scalars(sa.select(AuditEntry)):
        assert CANARY not in " ".join(str(v) for v in vars(entry).values())


def test_csv_download(client, world):
    response = get(client, world.author, world.url("themes.csv", query="?include_drafts=1"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="themes-')
    assert response.mimetype_params["charset"] == "utf-8"
    data = response.get_data()
    assert data.startswith(codecs.BOM_UTF8)  # for Excel; a BOM-aware reader drops it
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["script_id", "script_name", "script_status"]
    assert len(rows) == 1 + 4 + 1  # critic in 4 sessions, rescue in 1
    assert "'=Rescues, then resents" in {r[1] for r in rows}


def test_svg_chart(client, world):
    response = get(client, world.author, world.url("themes.svg"))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314 (our own output)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "=Rescues, then resents" in texts
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_client_with_nothing_yet(client):
    practice = make_practice()
    author = make_user(practice, ["clinician"])
    empty = make_client(practice, author)
    body = get(client, author, f"/api/v1/clients/{empty.id}/themes").get_json()
    assert (body["sessions"], body["scripts"], body["per_session"]) == (0, [], [])
    svg = get(client, author, f"/api/v1/clients/{empty.id}/themes.svg")
    assert svg.status_code == 200


def test_after_a_hand_over_the_history_is_the_new_clinicians(client, world):
    """The author the client moved away from, and their supervisor, keep their notes but
    not the history: it lists the scripts the current care team keeps (SECURITY 9), and
    a merge or rename by the new clinician must not reach them through it."""
    world.client.primary_clinician_id = world.colleague.id
    db.session.flush()
    kept_by_new_clinician = make_script(world.client, world.colleague, "Newer pattern")
    for reader in (world.author, world.supervisor):
        for fmt in FORMATS:
            assert get(client, reader, world.url(fmt)).status_code == 404, (reader, fmt)
        notes = get(client, reader, f"/api/v1/clients/{world.client.id}/notes")
        assert notes.status_code == 200 and notes.get_json()["total"] == 4, reader
    mine = get(client, world.colleague, world.url()).get_json()
    assert mine["sessions"] == 0  # none of the colleague's own notes yet
    assert str(kept_by_new_clinician.id) in {s["script_id"] for s in mine["scripts"]}


def test_a_clinician_moved_to_the_front_desk_reads_no_notes(client, world):
    """Authorship alone is not enough: without the clinician role, 404 (SECURITY 9)."""
    world.author.roles = ["scheduler"]
    db.session.flush()
    note_url = f"/api/v1/notes/{world.notes[0].id}"
    for url in (world.url(), f"/api/v1/clients/{world.client.id}/notes", note_url):
        assert get(client, world.author, url).status_code == 404, url
    # Their supervisor still reads the notes they wrote while the link exists.
    assert get(client, world.supervisor, world.url()).get_json()["sessions"] == 3
