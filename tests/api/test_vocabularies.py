"""GET /api/v1/vocabularies, and a practice's CCRT tag file (PRACTICE_CCRT_TAGS)."""

from __future__ import annotations

import json

import pytest

from practice import create_app
from practice.notes.template import ccrt_tags, load_ccrt_tags, vocabularies
from tests.factories import make_client, make_practice, make_user
from tests.helpers import assert_error, auth

URL = "/api/v1/vocabularies"
TAGS = {"wish": ["to be recognised", "to be close"], "response_of_self": ["withdraws"]}


def test_everyone_logged_in_reads_the_vocabularies_and_nobody_else(client, db):
    scheduler = make_user(make_practice(), ("scheduler",))
    body = client.get(URL, headers=auth(scheduler)).get_json()
    shipped = vocabularies()
    assert body["figure_roles"] == shipped["figure_roles"]
    assert body["defenses"] == shipped["defenses"]
    assert body["ccrt_tags"] == {"wish": [], "response_of_other": [], "response_of_self": []}
    assert_error(client.get(URL), 401)


def test_a_practice_tag_file_is_served_and_enforced(app, client, db, tmp_path, monkeypatch):
    path = tmp_path / "tags.json"
    path.write_text(json.dumps(TAGS), "utf-8")
    monkeypatch.setitem(app.extensions, "ccrt_tags", load_ccrt_tags(str(path)))
    author = make_user(make_practice(), ("clinician",))
    assert client.get(URL, headers=auth(author)).get_json()["ccrt_tags"] == {
        **TAGS, "response_of_other": []
    }  # fmt: skip
    about = make_client(author.practice, author)
    notes = f"/api/v1/clients/{about.id}/notes"

    def note(tag: str):
        episode = {"wish": "closeness", "wish_tag": tag}
        body = {"session_date": "2026-03-02", "content": {"relationship_episodes": [episode]}}
        return client.post(notes, json=body, headers=auth(author))

    assert note("to be close").status_code == 201
    errors = assert_error(note("to be admired"), 422)["errors"]["json"]
    assert errors["content"]["relationship_episodes"]["0"]["wish_tag"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", "cannot read"),
        ("[]", "JSON object"),
        ('{"wishes": []}', "unknown keys"),
        ('{"wish": "to be loved"}', "must be a list"),
        ('{"wish": [""]}', "1-100 characters"),
        ('{"wish": ["a", "a"]}', "twice"),
        ('{"wish": [" padded "]}', "surrounding spaces"),
        ('{"wish": ["   "]}', "surrounding spaces"),
        ('{"wish": ["a"], "wish": ["b"]}', "appears twice"),
    ],
)
def test_a_bad_tag_file_is_refused_by_name(tmp_path, content, words):
    path = tmp_path / "tags.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError, match=words):
        load_ccrt_tags(str(path))
    with pytest.raises(ValueError, match="cannot read"):
        load_ccrt_tags(str(tmp_path / "missing.json"))


def test_the_app_loads_the_tag_file_it_is_given(tmp_path, keyring_path):
    path = tmp_path / "tags.json"
    path.write_text(json.dumps(TAGS), "utf-8")
    settings = {
        "SQLALCHEMY_DATABASE_URI": "sqlite://",  # not used: nothing here touches a database
        "SECRET_KEY": "tag-file-test",
        "PRACTICE_KEYRING": str(keyring_path),
        "PRACTICE_CCRT_TAGS": str(path),
    }
    tagged = create_app("testing", settings)
    with tagged.app_context():
        assert ccrt_tags() == {**TAGS, "response_of_other": []}
    assert ccrt_tags() == {"wish": [], "response_of_other": [], "response_of_self": []}
