"""The services that write non-clinical records audit the write themselves (the views no
longer do: tests/test_views_audit_nothing.py), with the action names and outcomes the
views used, so the API and the web pages record the same entries."""

from practice.audit.service import PENDING
from practice.auth import service, sessions, totp
from practice.clients import service as client_service
from practice.extensions import db
from practice.scheduling import ical, rooms
from tests.factories import make_practice, make_user


def _entries():
    return [(e.action, e.object_type, e.object_id) for e in db.session.info.get(PENDING, [])]


def test_rooms_and_the_practice_settings(app):
    owner = make_user(make_practice(), ("owner",))
    db.session.info[PENDING] = []
    room = rooms.create_room(owner, "Garden room")
    rooms.update_room(room, {"active": False})
    service.update_practice(owner.practice, owner, {"name": "Quillfeather Practice"})
    assert _entries() == [
        ("room.create", "room", str(room.id)),
        ("room.update", "room", str(room.id)),
        ("practice.update", "practice", str(owner.practice_id)),
    ]


def test_the_calendar_feed_and_a_token_made_and_revoked(app):
    clinician = make_user(make_practice(), ("clinician",))
    db.session.info[PENDING] = []
    token, _secret = service.issue_api_token(clinician, "sync")
    ical.issue_token(clinician)
    ical.feed_appointments(clinician)
    assert ical.revoke_token(clinician) is True
    assert ical.revoke_token(clinician) is False  # nothing to stop: nothing audited
    assert service.revoke_api_token(clinician, token.id) is token
    assert _entries() == [
        ("auth.token_create", "api_token", str(token.id)),
        ("calendar_feed.issue", "clinician", str(clinician.id)),
        ("calendar_feed.read", "clinician", str(clinician.id)),
        ("calendar_feed.revoke", "clinician", str(clinician.id)),
        ("auth.token_revoke", "api_token", str(token.id)),
    ]


def test_a_refused_write_records_no_success(app):
    practice = make_practice()
    owner, other = make_user(practice, ("owner",)), make_user(make_practice(), ("owner",))
    token, _secret = service.issue_api_token(owner, "sync")
    db.session.info[PENDING] = []
    assert service.revoke_api_token(other, token.id) is None  # not theirs
    assert _entries() == []


def test_totp_setup_and_sign_out(app):
    user = make_user(make_practice())
    db.session.info[PENDING] = []
    totp.begin_enrolment(user)
    sessions.sign_out(user, None)  # an API token's request: no session record to end
    assert _entries() == [
        ("auth.totp_setup", "user", str(user.id)),
        ("auth.logout", "user", str(user.id)),
    ]


def test_the_supervision_list_is_audited_and_empty_without_supervisees(app):
    supervisor = make_user(make_practice(), ("supervisor",))
    db.session.info[PENDING] = []
    assert client_service.supervisees_with_clients(supervisor) == []
    assert _entries() == [("supervision.list", "user", str(supervisor.id))]
