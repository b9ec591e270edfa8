"""`flask practice create`: a practice and its owner, refused with a message when wrong."""

import sqlalchemy as sa

from practice.auth import passwords, totp
from practice.auth.models import Practice, User
from practice.extensions import db
from tests.helpers import audit_actions, count

GOOD = "lighthouse bramble cobalt tea"


def run(app, monkeypatch, *extra, password=GOOD, email="owner@quay.example.test"):
    if password is None:
        monkeypatch.delenv("PRACTICE_OWNER_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("PRACTICE_OWNER_PASSWORD", password)
    args = [
        "practice",
        "create",
        "--name",
        "Quay Street Rooms",
        "--owner-email",
        email,
        "--owner-name",
        "Philippa Marchbanks",
        *extra,
    ]
    if "--timezone" not in extra:
        args += ["--timezone", "America/Chicago"]
    return app.test_cli_runner().invoke(args=args)


def test_creates_practice_and_solo_owner(app, monkeypatch):
    result = run(app, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Created practice" in result.output
    db.session.expire_all()
    owner = db.session.scalar(sa.select(User).where(User.email == "owner@quay.example.test"))
    assert sorted(owner.roles) == ["clinician", "owner"]
    assert owner.practice.timezone == "America/Chicago"
    assert passwords.verify_password(owner.password_hash, GOOD)
    assert ("practice.create", "success") in audit_actions(object_id=str(owner.practice_id))
    assert ("user.create", "success") in audit_actions(actor_id=owner.id)


def test_owner_only_option(app, monkeypatch):
    result = run(app, monkeypatch, "--no-clinician", email="boss@quay.example.test")
    assert result.exit_code == 0, result.output
    owner = db.session.scalar(sa.select(User).where(User.email == "boss@quay.example.test"))
    assert owner.roles == ["owner"]


def test_unknown_time_zone_fails_with_a_message(app, monkeypatch):
    before = count(Practice)
    result = run(app, monkeypatch, "--timezone", "Mars/Olympus_Mons")
    assert result.exit_code != 0
    assert "unknown time zone" in result.output
    assert count(Practice) == before


def test_weak_password_fails_with_the_reason(app, monkeypatch):
    before = (count(Practice), count(User))
    result = run(app, monkeypatch, password="password1234")
    assert result.exit_code != 0
    assert "common" in result.output
    assert (count(Practice), count(User)) == before


def test_taken_email_fails(app, monkeypatch):
    assert run(app, monkeypatch).exit_code == 0
    before = count(Practice)
    result = run(app, monkeypatch)
    assert result.exit_code != 0 and "already exists" in result.output
    assert count(Practice) == before


def test_missing_options_fail(app, monkeypatch):
    monkeypatch.setenv("PRACTICE_OWNER_PASSWORD", GOOD)
    result = app.test_cli_runner().invoke(args=["practice", "create", "--name", "X"])
    assert result.exit_code != 0 and "Missing option" in result.output


def test_reset_totp_for_a_solo_owner_who_lost_their_phone(app, monkeypatch):
    assert run(app, monkeypatch).exit_code == 0
    owner = db.session.scalar(sa.select(User).where(User.email == "owner@quay.example.test"))
    totp.begin_enrolment(owner)
    owner.totp_enabled = True
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["practice", "reset-totp", "  Owner@Quay.Example.Test "])
    assert result.exit_code == 0, result.output
    assert "Removed the second factor" in result.output
    db.session.expire_all()
    assert (owner.totp_enabled, owner.totp_secret) == (False, None)
    assert ("user.totp_reset", "success") in audit_actions(object_id=str(owner.id))
    again = runner.invoke(args=["practice", "reset-totp", "owner@quay.example.test"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    unknown = runner.invoke(args=["practice", "reset-totp", "nobody@quay.example.test"])
    assert unknown.exit_code != 0 and "no user" in unknown.output
