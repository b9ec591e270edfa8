"""Signing in, signing out, the home page, password change and TOTP enrolment: the same
service calls as practice.api.auth (service.sign_in and service.reauthenticate carry the
throttles, the failure counting and the audit entries), answered as pages.

Signing in takes two pages for those with a second factor: the password
(service.check_first_factor), then the code (service.finish_sign_in), both under the one
sign-in throttle and with one message for every failure. Between the two, the signed
cookie holds only whose password was right and when, for CODE_STEP_SECONDS.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid

import segno
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice import login
from practice.api.auth import LoginSchema, PasswordChangeSchema, TotpEnableSchema
from practice.auth import service, totp
from practice.auth.models import User
from practice.extensions import db
from practice.web.pages import LOGIN_CSRF, fresh_login_token, safe_path, signed_in

bp = Blueprint("web_account", __name__)
PENDING = "pending_sign_in"  # {"user": id, "at": epoch seconds} between the two steps
CODE_STEP_SECONDS = 300


def home_for(user: User) -> str:
    if user.has_role("clinician"):
        return url_for("web_schedule.week")
    if user.has_role("supervisor"):
        return url_for("web_clients.supervision")
    if user.has_role("owner", "scheduler"):
        return url_for("web_frontdesk.today")  # the front desk starts from the practice's day
    return url_for("web_account.account")


def _carry() -> dict:
    """What a sign-in form carries along: where to go next and a kept draft."""
    kept = [
        (name.removeprefix("keep:"), value)
        for name, values in request.form.lists()
        if name.startswith("keep:")
        for value in values
    ]
    return {
        "next_path": safe_path(request.values.get("next")),
        "resume_path": safe_path(request.form.get("resume_path")),
        "kept": kept,
    }


def _sign_in_form(status: int = 200, headers: dict | None = None, **context):
    context.setdefault("error", None)
    context.setdefault("email", "")
    page = render_template(
        "account/sign_in.html", login_token=fresh_login_token(), **_carry(), **context
    )
    return page, status, headers or {}


def _login_token_ok() -> bool:
    """The anonymous form token (login CSRF): a page cannot sign a victim in elsewhere."""
    sent = request.form.get("login_token", "")
    expected = session.get(LOGIN_CSRF)
    return isinstance(expected, str) and hmac.compare_digest(sent.encode(), expected.encode())


@bp.get("/")
def index():
    """The sign-in page when signed out; the user's home when signed in."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return _sign_in_form()


@bp.get("/sign-in")
def sign_in():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return _sign_in_form()


@bp.post("/sign-in")
def sign_in_post():
    """Email and password; then the code page for those with a second factor, or where
    the user was going, or the draft they were writing when their session ended."""
    if not _login_token_ok():
        return _sign_in_form(400, error="The form expired; please sign in again.")
    session.pop(PENDING, None)
    email = request.form.get("email", "")
    form = {"email": email, "password": request.form.get("password", "")}
    try:
        args = LoginSchema().load(form)
    except ValidationError:
        return _sign_in_form(422, error="Enter your email and password.", email=email)
    try:
        user = service.check_first_factor(args["email"], args["password"])
        if user.totp_enabled:
            db.session.commit()  # a rehashed password sticks
            session[PENDING] = {"user": str(user.id), "at": int(time.time())}
            return _code_form()
        record, secret = service.finish_sign_in(user, None)
    except service.SignInRefused as refusal:
        return _refused_sign_in(refusal, _sign_in_form, email=email)
    login.open_session(secret)
    return _signed_in(user, record.csrf_token)


def _refused_sign_in(refusal, form, **context):
    db.session.commit()  # the failure counters and audit entries stick
    if refusal.retry_after is not None:
        headers = {"Retry-After": str(refusal.retry_after)}
        return form(429, headers, error=refusal.message, **context)
    return form(401, error=refusal.message, **context)


def _signed_in(user: User, token: str):
    """Where to go once signed in: the kept draft, the page asked for, or home."""
    session.pop(LOGIN_CSRF, None)
    session.pop(PENDING, None)
    carry = _carry()
    if carry["resume_path"] and carry["kept"]:
        return render_template(
            "account/resume.html",
            resume_path=carry["resume_path"],
            kept=carry["kept"],
            token=token,
        )
    return redirect(carry["next_path"] or home_for(user))


def _code_form(status: int = 200, headers: dict | None = None, **context):
    context.setdefault("error", None)
    page = render_template(
        "account/sign_in_code.html", login_token=fresh_login_token(), **_carry(), **context
    )
    return page, status, headers or {}


def _pending_user() -> User | None:
    """The user whose password was right a moment ago, still waiting for their code."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), int):
        return None
    if not 0 <= time.time() - pending["at"] <= CODE_STEP_SECONDS:
        return None
    try:
        user = db.session.get(User, uuid.UUID(str(pending.get("user"))))
    except ValueError:
        return None
    return user if user is not None and user.active and user.totp_enabled else None


@bp.get("/sign-in/code")
def sign_in_code():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    if _pending_user() is None:
        return redirect(url_for("web_account.sign_in"))
    return _code_form()


@bp.post("/sign-in/code")
def sign_in_code_post():
    """The second step: a code from the authenticator app or a recovery code."""
    if not _login_token_ok():
        return _sign_in_form(400, error="The form expired; please sign in again.")
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        return _sign_in_form(401, error="That took too long; please sign in again.")
    code = request.form.get("totp", "").strip()
    if not code or len(code) > 32:
        return _code_form(422, error="Enter the code from your authenticator app.")
    try:
        record, secret = service.finish_sign_in(user, code)
    except service.SignInRefused as refusal:
        if refusal.retry_after is None:  # the password was right: only the code is wrong
            refusal = service.SignInRefused("That code was not right; try again.")
        return _refused_sign_in(refusal, _code_form)
    login.open_session(secret)
    return _signed_in(user, record.csrf_token)


@bp.post("/sign-out")
@signed_in
def sign_out():
    login.sign_out()
    return redirect(url_for("web_account.sign_in", bye=1))


@bp.get("/account")
@signed_in
def account():
    return render_template("account/account.html")


def _reauthenticate(action: str, password: str, code: str | None) -> tuple[str, int] | None:
    """service.reauthenticate; on refusal the sentence and status to show (403 or 429)."""
    try:
        service.reauthenticate(current_user._get_current_object(), password, code, action)
    except service.SignInRefused as refusal:
        db.session.commit()
        return refusal.message, 429 if refusal.retry_after is not None else 403
    return None


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def password():
    """Change your own password (current password, and a code if you use one); every
    other session of yours ends; your API tokens too when you ask."""
    if request.method == "GET":
        return render_template("account/password.html", errors={})
    form = {
        "current_password": request.form.get("current_password", ""),
        "new_password": request.form.get("new_password", ""),
        "revoke_tokens": request.form.get("revoke_tokens") == "yes",
    }
    if request.form.get("totp", "").strip():
        form["totp"] = request.form["totp"].strip()
    user = current_user._get_current_object()
    try:
        args = PasswordChangeSchema().load(form)
    except ValidationError as exc:
        return render_template("account/password.html", errors=exc.messages), 422
    denied = _reauthenticate("auth.password_change", args["current_password"], args.get("totp"))
    if denied:
        message, status = denied
        return render_template("account/password.html", errors={}, refused=message), status
    try:
        service.change_password(user, args["new_password"])  # audited, refused too
    except service.PolicyError as exc:
        return render_template("account/password.html", errors=exc.errors), 422
    revoked = service.finish_password_change(user, revoke_tokens=args["revoke_tokens"])
    return render_template("account/password.html", errors={}, done=True, revoked=revoked)


@bp.get("/account/two-factor")
@signed_in
def two_factor():
    return render_template("account/two_factor.html", step="start")


def _qr(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URL (the CSP allows data: images)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _scan_page(error: str | None = None, status: int = 200):
    """A fresh seed as a QR code and as text, and the form confirming it."""
    user = current_user._get_current_object()
    secret, uri = totp.begin_enrolment(user)
    if status >= 400:
        db.session.commit()  # the page shows this seed: it must be the stored one
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    page = render_template(
        "account/two_factor.html", step="scan", qr=_qr(uri), secret=grouped, error=error
    )
    return page, status


@bp.post("/account/two-factor/setup")
@signed_in
def two_factor_setup():
    """Start enrolment: a new secret as a QR code; active once a code confirms it."""
    if current_user.totp_enabled:
        return render_template("account/two_factor.html", step="start"), 409
    return _scan_page()


@bp.post("/account/two-factor/enable")
@signed_in
def two_factor_enable():
    """Confirm with your password and a code from the new authenticator; show the ten
    recovery codes once."""
    user = current_user._get_current_object()
    if user.totp_enabled:
        return render_template("account/two_factor.html", step="start"), 409
    form = {"password": request.form.get("password", ""), "code": request.form.get("code", "")}
    try:
        args = TotpEnableSchema().load(form)
    except ValidationError:
        return _scan_page("Enter your password and the code. Scan this new code first.", 422)
    denied = _reauthenticate("auth.totp_enable", args["password"], None)
    if denied:
        message, status = denied
        return _scan_page(message + " Scan this new code and try again.", status)
    try:
        codes = totp.enable(user, args["code"])  # audited, refused too
    except service.PolicyError:
        return _scan_page("That code was not right. Scan this new code and try again.", 422)
    return render_template("account/two_factor.html", step="done", codes=codes)
