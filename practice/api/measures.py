"""Outcome measures: the instruments (defined as data) and the forms recorded per session.

The instruments answer anyone signed in (they hold no client data). A client's forms:
the client's clinicians record them; the care team and the supervisors of one read;
everyone else gets 404, a supervisor writing 403 (practice/measures/service.py). Every
read and write is audited with ids only; answers and scores are sealed.
"""

from __future__ import annotations

import sys

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import audit_refusals
from practice.login import current_actor
from practice.measures import definitions, service
from practice.measures.models import VOID_REASONS

blp = Blueprint(
    "measures",
    __name__,
    url_prefix="/api/v1",
    description="Outcome measures (PHQ-9, GAD-7 and a practice's own) recorded per session",
)
blp.after_request(audit_refusals)


@blp.record_once
def _load_definitions(state) -> None:
    """Start-up: every definition file is checked; a bad one stops the app in one line."""
    app = state.app
    try:
        app.extensions["instruments"] = definitions.load_instruments(
            app.config.get("PRACTICE_MEASURES_DIR")
        )
    except definitions.DefinitionError as exc:
        sys.exit(f"practice: cannot start: measure definition {exc}")


class OptionSchema(Schema):
    value = fields.Integer()
    label = fields.String()


class ItemSchema(Schema):
    id = fields.String()
    text = fields.String()


class BandSchema(Schema):
    min = fields.Integer()
    max = fields.Integer()
    label = fields.String()


class RiskItemSchema(Schema):
    item = fields.String()
    above = fields.Integer(metadata={"description": "flagged when the answer is above this"})


class InstrumentSchema(Schema):
    id = fields.String()
    name = fields.String()
    title = fields.String()
    version = fields.Integer()
    rights = fields.String()
    instructions = fields.String()
    options = fields.List(fields.Nested(OptionSchema))
    items = fields.List(fields.Nested(ItemSchema))
    range = fields.List(fields.Integer(), metadata={"description": "[lowest, highest] total"})
    higher_is = fields.String(metadata={"description": "worse or better"})
    max_missing = fields.Integer(metadata={"description": "items that may be left out"})
    missing_rule = fields.String()
    bands = fields.List(fields.Nested(BandSchema))
    reliable_change = fields.Integer()
    caseness = fields.Integer(allow_none=True)
    risk_items = fields.List(fields.Nested(RiskItemSchema))
    sources = fields.Dict(keys=fields.String(), values=fields.String())


class InstrumentListSchema(Schema):
    items = fields.List(fields.Nested(InstrumentSchema))


class MeasureCreateSchema(Schema):
    instrument = fields.String(required=True, validate=validate.Length(min=1, max=32))
    appointment_id = fields.UUID(required=True)
    responses = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.Integer(strict=True, allow_none=True),
        required=True,
        validate=validate.Length(min=1, max=definitions.MAX_ITEMS),
        metadata={"description": 'item id → response value, e.g. {"1": 0, "2": 3, …}'},
    )


class MeasureSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    appointment_id = fields.UUID()
    instrument = fields.String()
    instrument_version = fields.Integer()
    session_date = fields.Date()
    recorded_by = fields.UUID()
    created_at = fields.DateTime()
    responses = fields.Dict(keys=fields.String(), values=fields.Integer())
    score = fields.Integer()
    prorated = fields.Boolean()
    band = fields.String(allow_none=True)
    risk_items = fields.List(
        fields.String(), metadata={"description": "items answered above their risk threshold"}
    )
    voided = fields.Boolean(
        metadata={"description": "entered in error: left out of every score, band and flag"}
    )
    voided_at = fields.DateTime(allow_none=True)
    voided_by = fields.UUID(allow_none=True)
    void_reason = fields.String(allow_none=True, validate=validate.OneOf(sorted(VOID_REASONS)))


class MeasureVoidSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.OneOf(sorted(VOID_REASONS)),
        metadata={"description": "why the form was entered in error (a category, no text)"},
    )


class VoidedFormSchema(Schema):
    measure_id = fields.String()
    appointment_id = fields.String()
    instrument = fields.String()
    date = fields.String()
    voided_at = fields.String()
    void_reason = fields.String()


class ScoreRowSchema(Schema):
    measure_id = fields.String()
    appointment_id = fields.String()
    date = fields.String()
    score = fields.Integer()
    prorated = fields.Boolean()
    risk_items = fields.List(fields.String())
    band = fields.String()
    change_from_first = fields.Integer()
    reliable_change = fields.String(
        allow_none=True, metadata={"description": "improvement, deterioration or null"}
    )
    case = fields.Boolean(allow_none=True, metadata={"description": "at or above caseness"})
    recovered = fields.Boolean(
        allow_none=True,
        metadata={
            "description": "a case at the first score, below caseness now, reliably improved"
        },
    )


class InstrumentScoresSchema(Schema):
    instrument = fields.String()
    name = fields.String()
    range = fields.List(fields.Integer())
    higher_is = fields.String()
    reliable_change = fields.Integer()
    caseness = fields.Integer(allow_none=True)
    scores = fields.List(fields.Nested(ScoreRowSchema))


class RiskFlagSchema(Schema):
    instrument = fields.String()
    name = fields.String()
    item = fields.String()
    date = fields.String()
    measure_id = fields.String()
    message = fields.String()


class MeasureReportSchema(Schema):
    client_id = fields.String()
    instruments = fields.List(fields.Nested(InstrumentScoresSchema))
    risk_flags = fields.List(fields.Nested(RiskFlagSchema))
    voided = fields.List(
        fields.Nested(VoidedFormSchema),
        metadata={"description": "forms entered in error (kept, sealed, never scored)"},
    )


@blp.route("/instruments")
class Instruments(MethodView):
    decorators = [login_required]

    @blp.response(200, InstrumentListSchema)
    def get(self):
        """The instruments a measure can be recorded with: items, responses, bands, sources."""
        known = definitions.instruments()
        return {"items": [known[key].describe() for key in sorted(known)]}


@blp.route("/clients/<uuid:client_id>/measures")
class Measures(MethodView):
    decorators = [login_required]

    @blp.response(200, MeasureReportSchema)
    def get(self, client_id):
        """The client's scores by instrument: band, change, reliable change, recovery, risk."""
        client = service.measures_client_for(current_user, client_id)
        return service.client_report(client)

    @blp.arguments(MeasureCreateSchema)
    @blp.alt_response(409, description="This session already has a form of this instrument")
    @blp.response(201, MeasureSchema)
    def post(self, args, client_id):
        """Record a completed form for one of the client's sessions."""
        client = service.measures_client_for(current_user, client_id, write=True)
        measure = service.record_measure(current_user, client, args)
        return service.measure_view(client, measure)


@blp.route("/clients/<uuid:client_id>/measures/<uuid:measure_id>")
class MeasureItem(MethodView):
    decorators = [login_required]

    @blp.response(200, MeasureSchema)
    def get(self, client_id, measure_id):
        """One recorded form with its answers."""
        client = service.measures_client_for(current_user, client_id)
        return service.measure_view(client, service.get_measure(client, measure_id))


@blp.route("/clients/<uuid:client_id>/measures/<uuid:measure_id>/void")
class MeasureVoid(MethodView):
    decorators = [login_required]

    @blp.arguments(MeasureVoidSchema)
    @blp.alt_response(409, description="The form was already marked as entered in error")
    @blp.response(200, MeasureSchema)
    def post(self, args, client_id, measure_id):
        """Mark a form as entered in error (a clinician in the client's care): it stays,
        sealed, and is left out of scores, bands, change, flags and the theme timeline."""
        client = service.measures_client_for(current_user, client_id, write=True)
        measure = service.void_measure(current_actor(), client, measure_id, args["reason"])
        return service.measure_view(client, measure)


class LaneScoreSchema(ScoreRowSchema):
    session_number = fields.Integer(allow_none=True)
    note_id = fields.String(
        allow_none=True, metadata={"description": "the note of the session's column, if any"}
    )


class ScoreLaneSchema(InstrumentScoresSchema):
    """One instrument's scores on the theme history's session axis."""

    bands = fields.List(fields.Nested(BandSchema))
    scores = fields.List(fields.Nested(LaneScoreSchema))


class UnresolvedRuptureSchema(Schema):
    session_number = fields.Integer()
    date = fields.String()
    note_id = fields.String()
    type = fields.String()


class RuptureFlagSchema(Schema):
    raised = fields.Boolean()
    reasons = fields.List(fields.String())
    unresolved_recent = fields.List(fields.Nested(UnresolvedRuptureSchema))
    label = fields.String(metadata={"description": "an aid for the clinician, not a score"})


class RupturesSchema(Schema):
    """Ruptures of the window by type and resolution ("unrecorded" when not given)."""

    total = fields.Integer()
    by_type = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer())
    )
    by_resolution = fields.Dict(keys=fields.String(), values=fields.Integer())
    flag = fields.Nested(RuptureFlagSchema)
