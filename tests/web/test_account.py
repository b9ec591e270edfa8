"""Pages: headers, error pages, sign-in with the same rules as the API, sign-out, the
signed-out page that keeps a draft, password change and TOTP enrolment."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.auth import service as auth_service
from practice.auth import throttle, totp
from practice.auth.models import UserSession
from practice.database import utcnow
from practice.extensions import db
from practice.notes.models import ProcessNote
from practice.web import account
from tests.factories import PASSWORD, make_practice, make_user
from tests.helpers import assert_error, assert_page, code_form, csrf_of, hidden, settle, sign_in


def test_the_start_page_is_the_sign_in_page_with_the_page_headers(client):
    text = assert_page(client.get("/"))
    assert "Sign in" in text and 'name="login_token"' in text
    for name, kind in (
        ("app.css", "text/css"),
        ("htmx-2.0.11.min.js", "text/javascript"),
        ("htmx-2.0.11.LICENSE.txt", "text/plain"),
        ("app.js", "text/javascript"),
    ):
        with client.get(f"/static/{name}") as static:
            assert static.status_code == 200 and static.mimetype == kind, name


def test_page_errors_are_pages_and_the_api_keeps_json(client, team):
    sign_in(client, team.author)
    text = assert_page(client.get("/no/such/page"), 404)
    assert "Page not found" in text and "Ilse" not in text
    assert_page(client.get("/notes/00000000-0000-0000-0000-000000000000"), 404)
    assert_page(client.get("/week/not-a-date"), 404)
    assert "The form expired" in assert_page(client.post("/account/password", data={}), 403)
    assert_page(client.get("/sign-out"), 405)
    assert_error(client.get("/api/v1/notes/00000000-0000-0000-0000-000000000000"), 404)


def test_signing_in_and_out(client, team):
    assert sign_in(client, team.author).headers["Location"] == "/week"
    assert client.get("/").headers["Location"] == "/week"
    token = csrf_of(client)
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    record = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == team.author.id)
    ).one()
    assert record.ended_reason == "logout"
    assert client.get("/week").headers["Location"].startswith("/sign-in")


def test_a_wrong_password_and_a_forged_form_are_refused(client, team):
    page = client.get("/sign-in").get_data(as_text=True)
    wrong = client.post(
        "/sign-in",
        data={
            "login_token": hidden(page, "login_token"),
            "email": team.author.email,
            "password": "x" * 12,
        },
    )
    text = assert_page(wrong, 401)
    assert "Email or password is incorrect." in text
    assert team.author.email in text  # what was typed stays, the password does not
    assert "x" * 12 not in text
    forged = client.post("/sign-in", data={"email": team.author.email, "password": PASSWORD})
    assert_page(forged, 400)
    assert client.get("/week").status_code == 302  # still signed out


def test_sign_in_asks_for_the_code_of_a_second_factor(client, db):
    user = make_user(make_practice())
    settle()
    sign_in(client, user)
    token = csrf_of(client)
    scan = assert_page(client.post("/account/two-factor/setup", data={"csrf_token": token}))
    assert 'src="data:image/svg+xml;base64,' in scan
    secret = hidden_secret(scan)
    done = client.post(
        "/account/two-factor/enable",
        data={"csrf_token": token, "password": PASSWORD, "code": pyotp.TOTP(secret).now()},
    )
    codes = re.findall(r"<li><code>([^<]+)</code></li>", assert_page(done))
    assert len(codes) == 10
    client.post("/sign-out", data={"csrf_token": token})
    asked = assert_page(sign_in(client, user))  # the password was right: the code page
    assert "Code from your authenticator app" in asked and 'name="password"' not in asked
    assert client.get("/week").status_code == 302  # not signed in yet
    assert sign_in(client, user, code=codes[0]).status_code == 302  # a recovery code
    assert "My week" in assert_page(client.get("/week"))  # signed in


def _with_totp(client, user) -> str:
    seed, _uri = totp.begin_enrolment(user)
    totp.enable(user, pyotp.TOTP(seed).at(time.time() - 30))
    settle()
    return seed


def test_the_code_step_counts_against_the_sign_in_throttle(client, team, monkeypatch):
    seed = _with_totp(client, team.author)
    answer = sign_in(client, team.author, code="000000")
    text = assert_page(answer, 401)
    assert "That code was not right" in text and "Two-factor code" in text
    assert client.get("/week").status_code == 302
    audited = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.actor_id == team.author.id)
    ).all()
    assert "auth.login_failed" in audited
    # The code step is counted and checked by the sign-in throttle (its own limits are
    # tested in tests/auth/test_throttling.py): here, three failures and it waits.
    failures: dict[str, int] = {}

    def check(email, address=None):
        if failures.get(email, 0) >= 3:
            raise throttle.Throttled(60)

    def record_failure(email, address=None):
        failures[email] = failures.get(email, 0) + 1
        return False

    monkeypatch.setattr(throttle, "check", check)
    monkeypatch.setattr(throttle, "record_failure", record_failure)
    answers = [
        client.post("/sign-in/code", data={**code_form(text), "totp": "000000"}).status_code
        for _ in range(4)
    ]
    assert answers == [401, 401, 401, 429]
    last = client.post("/sign-in/code", data={**code_form(text), "totp": "000000"})
    assert_page(last, 429)
    assert last.headers["Retry-After"] == "60"
    right = client.post("/sign-in/code", data={**code_form(text), "totp": pyotp.TOTP(seed).now()})
    assert "Too many failed attempts" in assert_page(right, 429)  # even the right code waits
    assert client.get("/week").status_code == 302


def test_the_code_step_needs_the_password_step_first_and_expires(client, team, monkeypatch):
    seed = _with_totp(client, team.author)
    page = client.get("/sign-in").get_data(as_text=True)
    assert client.get("/sign-in/code").headers["Location"] == "/sign-in"
    alone = client.post(
        "/sign-in/code",
        data={"login_token": hidden(page, "login_token"), "totp": pyotp.TOTP(seed).now()},
    )
    assert "took too long" in assert_page(alone, 401)
    asked = assert_page(sign_in(client, team.author))
    assert_page(client.get("/sign-in/code"))  # a reload shows the step again
    later = time.time() + account.CODE_STEP_SECONDS + 5
    monkeypatch.setattr(account.time, "time", lambda: later)
    late = client.post("/sign-in/code", data={**code_form(asked), "totp": pyotp.TOTP(seed).now()})
    assert "took too long" in assert_page(late, 401)
    assert client.get("/week").status_code == 302


def test_the_code_step_carries_a_kept_draft(app, client, team):
    seed = _with_totp(client, team.author)
    page = client.get("/sign-in").get_data(as_text=True)
    asked = client.post(
        "/sign-in",
        data={
            "login_token": hidden(page, "login_token"),
            "email": team.author.email,
            "password": PASSWORD,
            "resume_path": "/notes/x/edit",
            "keep:narrative.summary": "Kept through both steps.",
        },
    )
    text = assert_page(asked)
    assert "What you were writing is kept" in text
    resume = client.post("/sign-in/code", data={**code_form(text), "totp": pyotp.TOTP(seed).now()})
    resumed = assert_page(resume)
    assert 'action="/notes/x/edit"' in resumed and "Kept through both steps." in resumed


def test_pages_never_take_a_bearer_token(client, team):
    _token, secret = auth_service.issue_api_token(team.author, "pages")
    settle()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    for path in ("/week", "/clients", f"/clients/{team.client.id}", "/account"):
        answer = client.get(path, headers=bearer)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in")
    posted = client.post(
        f"/clients/{team.client.id}/notes", headers=bearer, data={"session_date": "2026-11-02"}
    )
    assert "You were signed out" in assert_page(posted, 401)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcessNote)) == 0


def hidden_secret(text: str) -> str:
    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', text).group(1).replace(" ", "")


def test_a_wrong_enrolment_code_shows_a_new_qr_code(client, db):
    user = make_user(make_practice())
    settle()
    sign_in(client, user)
    token = csrf_of(client)
    client.post("/account/two-factor/setup", data={"csrf_token": token})
    wrong = client.post(
        "/account/two-factor/enable",
        data={"csrf_token": token, "password": PASSWORD, "code": "000000"},
    )
    assert "not right" in assert_page(wrong, 422)
    bad_password = client.post(
        "/account/two-factor/enable",
        data={"csrf_token": token, "password": "not my password", "code": "123456"},
    )
    assert_page(bad_password, 403)
    db.session.refresh(user)
    assert not user.totp_enabled


def test_password_change_with_errors_beside_the_fields(client, team):
    sign_in(client, team.author)
    token = csrf_of(client)
    weak = client.post(
        "/account/password",
        data={"csrf_token": token, "current_password": PASSWORD, "new_password": "short"},
    )
    text = assert_page(weak, 422)
    assert 'class="field-error" id="err-new_password"' in text
    wrong = client.post(
        "/account/password",
        data={"csrf_token": token, "current_password": "not it at all", "new_password": "x" * 20},
    )
    assert_page(wrong, 403)
    done = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase for tests",
        },
    )
    assert "Your password was changed" in assert_page(done)


def test_a_required_second_factor_sends_the_user_to_enrolment(client, db):
    practice = make_practice()
    user = make_user(practice)
    practice.require_totp = True
    settle()
    assert sign_in(client, user).status_code == 302
    assert client.get("/week").headers["Location"] == "/account/two-factor"
    assert_page(client.get("/account/two-factor"))


def _idle_out(app, user) -> None:
    record = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)).one()
    record.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    settle()


def test_idle_timeout_says_so_and_keeps_a_draft_through_signing_in(app, client, team):
    sign_in(client, team.author)
    token = csrf_of(client)
    created = client.post(
        f"/clients/{team.client.id}/notes", data={"csrf_token": token, "session_date": "2026-11-02"}
    )
    edit = created.headers["Location"]
    _idle_out(app, team.author)
    typed = "She arrived late & said nothing for ten minutes."
    posted = client.post(
        edit,
        data={"csrf_token": token, "version": "1", "action": "save", "narrative.summary": typed},
    )
    text = assert_page(posted, 401)
    assert (
        "You were signed out" in text
        and "is not lost" in text
        and "She arrived late &amp; said nothing" in text
    )
    login_token = hidden(text, "login_token")
    form = {
        "login_token": login_token,
        "email": team.author.email,
        "password": PASSWORD,
        "resume_path": edit,
        "keep:version": "1",
        "keep:action": "save",
        "keep:narrative.summary": typed,
    }
    resume = assert_page(client.post("/sign-in", data=form))
    assert f'action="{edit}"' in resume
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', resume))
    fields["narrative.summary"] = typed
    saved = client.post(edit, data=fields)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-1500:]
    assert typed.replace("&", "&amp;") in client.get(edit).get_data(as_text=True)


def test_resume_goes_only_to_a_page_of_ours(client, team):
    page = client.get("/sign-in").get_data(as_text=True)
    answer = client.post(
        "/sign-in",
        data={
            "login_token": hidden(page, "login_token"),
            "email": team.author.email,
            "password": PASSWORD,
            "next": "//evil.example/",
            "resume_path": "https://evil.example/x",
            "keep:text": "x",
        },
    )
    assert answer.headers["Location"] == "/week"


def test_a_page_opened_after_the_timeout_says_so(app, client, team):
    sign_in(client, team.author)
    _idle_out(app, team.author)
    assert "You were signed out" in assert_page(client.get("/clients"), 401)
    assert client.get("/clients").headers["Location"] == "/sign-in?next=/clients"
