"""One page of a query's rows, with the count of the whole filtered set (every list)."""

from __future__ import annotations

import sqlalchemy as sa

from practice.extensions import db


def paginate(query: sa.Select, page: int, page_size: int, *, rows: bool = False) -> dict:
    """Run `query` one page at a time: `{items, page, page_size, total}`.

    The page and the count come back from one query (`count(*) OVER ()` beside each row:
    the window is counted before LIMIT), so a list costs one round trip, not two; only a
    page past the end, which has no row to carry the count, asks for it apart. The items
    are each row's first column (the entity), or with `rows` the rows themselves, for a
    select of columns (the count rides along as `paging_total`)."""
    counted = query.add_columns(sa.func.count().over().label("paging_total"))
    found = db.session.execute(counted.limit(page_size).offset((page - 1) * page_size)).all()
    if found:
        total = found[-1][-1]
    else:
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        )
    items = found if rows else [row[0] for row in found]
    return {"items": items, "page": page, "page_size": page_size, "total": total}
