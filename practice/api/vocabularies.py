"""The vocabularies the note template uses (CLINICAL.md), for clients to offer as
quick-picks: the shipped lists, and the practice's standard CCRT tags when it supplies
them (PRACTICE_CCRT_TAGS)."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from practice.notes.template import ccrt_tags, vocabularies

blp = Blueprint(
    "vocabularies", __name__, url_prefix="/api/v1/vocabularies", description="Note vocabularies"
)


def _schema() -> type[Schema]:
    """Every list of the shipped file, the two structured ones, and the CCRT tags."""
    shipped = vocabularies()
    lists = {
        name: fields.List(fields.String()) for name, v in shipped.items() if isinstance(v, list)
    }
    return Schema.from_dict(
        {
            "version": fields.Integer(),
            **lists,
            "countertransference_reactions": fields.Raw(),
            "defenses": fields.Raw(
                metadata={"description": "DMRS levels, 7 high-adaptive … 1 action"}
            ),
            "ccrt_tags": fields.Dict(
                keys=fields.String(),
                values=fields.List(fields.String()),
                metadata={"description": "The practice's standard tags per CCRT component"},
            ),
        },
        name="Vocabularies",
    )


@blp.route("")
class Vocabularies(MethodView):
    decorators = [login_required]

    @blp.response(200, _schema())
    def get(self):
        """Every list a note's enumerated fields accept, and the practice's CCRT tags."""
        return {**vocabularies(), "ccrt_tags": ccrt_tags()}
