"""A list's page and its total come back in one query (issue 15: fewer round trips)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from practice.auth.models import Practice
from practice.paging import paginate
from tests.factories import make_practice


def _statements(db) -> list[str]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.session.get_bind(), "before_cursor_execute", count)
    return seen


def test_page_and_total_in_one_query_and_past_the_end_still_counted(db):
    names = ["Alder Therapy", "Birch Counselling", "Cedar Practice"]
    ids = {make_practice(name).id for name in names}
    db.session.flush()
    query = sa.select(Practice).where(Practice.id.in_(ids)).order_by(Practice.name)
    seen = _statements(db)
    first = paginate(query, 1, 2)
    assert [p.name for p in first["items"]] == names[:2] and first["total"] == 3
    assert len(seen) == 1
    last = paginate(query, 2, 2)
    assert [p.name for p in last["items"]] == names[2:] and last["total"] == 3
    past = paginate(query, 5, 2)
    assert past == {"items": [], "page": 5, "page_size": 2, "total": 3}
    empty = paginate(query.where(Practice.name == "nobody"), 1, 2)
    assert empty["items"] == [] and empty["total"] == 0


def test_a_select_of_columns_pages_whole_rows(db):
    names = ["Alder Therapy", "Birch Counselling", "Cedar Practice"]
    ids = {make_practice(name).id for name in names}
    db.session.flush()
    query = sa.select(Practice.__table__).where(Practice.id.in_(ids)).order_by(Practice.name)
    first = paginate(query, 1, 2, rows=True)
    assert [row.name for row in first["items"]] == names[:2] and first["total"] == 3
    assert {row.id for row in first["items"]} < ids
