"""Pages: headers, error pages, sign-in with the same rules as the API, sign-out, the
signed-out page that keeps a draft, password change and TOTP enrolment."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import sqlalchemy as sa

from practice.auth.models import UserSession
from practice.database import utcnow
from practice.extensions import db
from tests.factories import PASSWORD, make_practice, make_user
from tests.helpers import assert_error, settle
from tests.web.helpers import assert_page, csrf_of, hidden, sign_in


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
    assert_page(sign_in(client, user), 401)  # no code
    assert sign_in(client, user, code=codes[0]).status_code == 302  # a recovery code


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
