"""The password policy (NIST SP 800-63B): length, no composition rules, blocklists, context."""

import pytest

from practice.auth import passwords, service
from tests.factories import PASSWORD, make_practice, make_user

EMAIL = "ada.quillfeather@example.test"
NAME = "Ada Quillfeather"


def problems(password):
    return passwords.password_problems(password, email=EMAIL, name=NAME)


@pytest.mark.parametrize(
    "password",
    [
        "lantern orchard velvet harbour",
        "zebra kettle moonlit",  # 20 chars, lower case only: no composition rules
        "ünïcödé pässphräsé wörks",
        "猫が窓辺で静かに眠っている午後",  # 15 CJK characters
        "a" + "bcdefgh ijk " * 5,  # 61 chars
        "river stone " * 5 + "fern moss",  # 69 chars
        ("tide pool " * 26)[:256],  # exactly the maximum
    ],
)
def test_accepted(password):
    assert problems(password) == []


def test_long_passphrases_up_to_256():
    assert passwords.MAX_LENGTH >= 256 and passwords.MIN_LENGTH == 12
    assert problems(("quiet harbour lantern " * 20)[:256].strip() + "x") == []
    assert problems("x" * 12 + "quiet harbour " * 20)[0].startswith("Use at most 256")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "at least 12"),
        ("", "at least 12"),
        ("password1234", "common"),
        ("Password2025!", "common"),
        ("qwertyuiop123", "common"),
        ("1q2w3e4r5t6y", "common"),
        ("correct horse battery staple", "common"),
        ("iloveyou!!!!!!", "common"),
        ("dragondragondragon", "common"),
        ("aaaaaaaaaaaaaaaa", "common"),
        ("abcdefghijklmnop", "sequence"),
        ("9876543210987", "sequence"),
        ("zyxwvutsrqponm", "sequence"),
        ("ada quillfeather rocks", "name or email"),
        ("quillfeather!2024xyz", "name or email"),
        ("my dear ada.quillfeather", "name or email"),
        ("secret practice1", "service"),
    ],
)
def test_refused_with_a_reason(password, reason):
    found = problems(password)
    assert found, password
    assert any(reason in p for p in found), found


def test_common_list_is_real():
    common = passwords.common_passwords()
    assert len(common) > 5000
    assert {"123456", "password", "iloveyou", "qwerty123456", "1qaz2wsx3edc"} <= common
    assert not any(line.startswith("# ") for line in common)


def test_nfkc_normalisation_makes_equivalent_forms_match(app):
    composed = "caf\u00e9 au lait sous la pluie"
    decomposed = "cafe\u0301 au lait sous la pluie"
    hashed = passwords.hash_password(composed)
    assert passwords.verify_password(hashed, decomposed)
    assert not passwords.verify_password(hashed, "cafe au lait sous la pluie")


def test_verify_never_raises_on_garbage_hash(app):
    assert passwords.verify_password("not-a-hash", "whatever it is") is False
    assert passwords.needs_rehash("not-a-hash") is True


def test_new_password_must_differ_from_current(app):
    practice = make_practice()
    user = make_user(practice)
    with pytest.raises(service.PolicyError) as info:
        service.change_password(user, PASSWORD)
    assert "different" in info.value.errors["new_password"][0]
