"""One page of a query's rows, with the count of the whole filtered set (every list)."""

from __future__ import annotations

import sqlalchemy as sa

from practice.extensions import db


def paginate(query: sa.Select, page: int, page_size: int) -> dict:
    """Run `query` one page at a time: `{items, page, page_size, total}`.

    The page and the count come back from one query (`count(*) OVER ()` beside each row:
    the window is counted before LIMIT), so a list costs one round trip, not two; only a
    page past the end, which has no row to carry the count, asks for it apart."""
    counted = query.add_columns(sa.func.count().over().label("paging_total"))
    rows = db.session.execute(counted.limit(page_size).offset((page - 1) * page_size)).all()
    if rows:
        total = rows[-1][-1]
    else:
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        )
    return {"items": [row[0] for row in rows], "page": page, "page_size": page_size, "total": total}
