"""A change of one's own account is audited by the service that makes it (success and
refusal alike), so the API and the web pages record the same entries without either
writing one."""

import pyotp
import pytest

from practice.audit.service import PENDING
from practice.auth import service, totp
from practice.extensions import db
from tests.factories import PASSWORD, make_practice, make_user


def _entries():
    return [(e.action, e.outcome, e.object_id) for e in db.session.info.get(PENDING, [])]


def test_password_change_is_audited_when_refused_and_when_done(app):
    user = make_user(make_practice())
    db.session.info[PENDING] = []
    with pytest.raises(service.PolicyError):
        service.change_password(user, PASSWORD)  # the same password: refused
    assert _entries() == [("auth.password_change", "failure", str(user.id))]
    service.change_password(user, "quiet copper meadow lighthouse 42")
    assert _entries()[-1] == ("auth.password_change", "success", str(user.id))


def test_second_factor_steps_are_audited(app):
    user = make_user(make_practice())
    seed, _uri = totp.begin_enrolment(user)
    db.session.info[PENDING] = []
    with pytest.raises(service.PolicyError):
        totp.enable(user, "not a code")
    totp.enable(user, pyotp.TOTP(seed).now())
    totp.regenerate_recovery_codes(user)
    totp.disable(user)
    assert [(action, outcome) for action, outcome, _ in _entries()] == [
        ("auth.totp_enable", "failure"),
        ("auth.totp_enable", "success"),
        ("auth.totp_recovery_codes", "success"),
        ("auth.totp_disable", "success"),
    ]
