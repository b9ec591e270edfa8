"""One recovery code, one TOTP code: used once, even by simultaneous logins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest

from practice.auth import totp
from practice.auth.models import User
from practice.extensions import db as _db
from tests.factories import PASSWORD, make_practice, make_user
from tests.helpers import call

pytestmark = pytest.mark.live
LOGINS = 8


def _login(url: str, email: str, code: str, start: threading.Barrier) -> int:
    start.wait()
    return call(url, "POST", body={"email": email, "password": PASSWORD, "totp": code})[0]


def _race(live_server, email: str, code: str) -> list[int]:
    start = threading.Barrier(LOGINS)
    url = live_server.url + "/api/v1/auth/login"
    with ThreadPoolExecutor(max_workers=LOGINS) as pool:
        futures = [pool.submit(_login, url, email, code, start) for _ in range(LOGINS)]
        return sorted(f.result() for f in futures)


def test_a_code_used_by_simultaneous_logins_lets_one_in(live_server):
    with live_server.app.app_context():
        user = make_user(make_practice())
        seed, _uri = totp.begin_enrolment(user)
        _db.session.commit()
        codes = totp.enable(user, pyotp.TOTP(seed).now())
        user.totp_last_step = None  # let the current step be used once more, below
        email, user_id = user.email, user.id
        _db.session.commit()

    assert _race(live_server, email, codes[0]) == [200] + [401] * (LOGINS - 1)
    with live_server.app.app_context():
        assert _db.session.get(User, user_id).totp_recovery_codes_left == 9
        current = pyotp.TOTP(seed).now()
    assert _race(live_server, email, current) == [200] + [401] * (LOGINS - 1)
