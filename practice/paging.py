"""One page of a query's rows, with the count of the whole filtered set (every list)."""

from __future__ import annotations

import sqlalchemy as sa

from practice.extensions import db


def paginate(query: sa.Select, page: int, page_size: int) -> dict:
    """Run `query` one page at a time: `{items, page, page_size, total}`."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    )
    items = db.session.scalars(query.limit(page_size).offset((page - 1) * page_size)).all()
    return {"items": items, "page": page, "page_size": page_size, "total": total}
