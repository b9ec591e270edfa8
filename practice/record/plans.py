"""Treatment plans: versions numbered per client, drafts under If-Match, signed for good.

The newest signed version is the client's current plan; a new version starts as a draft
(a copy of the current plan, goal ids kept, so progress ratings follow a goal across
versions) and supersedes the current one when signed. Goals may name scripts of the
client (checked: this client's, not merged away). Content is sealed under the client's
data key, bound to the row's version; every read and write is audited.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from practice import versions
from practice.actor import Actor
from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import Practice, User
from practice.clients.models import Client
from practice.database import new_id, utcnow
from practice.errors import Conflict, Invalid, Stale
from practice.extensions import db
from practice.keys import client_keys as keys
from practice.notes.models import Script
from practice.paging import paginate
from practice.record import access
from practice.record.content import PlanContentSchema, plain
from practice.record.drafts import compare_and_set
from practice.record.models import TreatmentPlan

TABLE = "treatment_plans"
DUE_WITHIN = timedelta(days=14)  # "due for review": the review date is this close or past
DRAFT_EXISTS = "This client has a draft plan already; finish or edit that one."
# Another clinician in the care may discard a draft left this long untouched (see discard).
DRAFT_IDLE = timedelta(days=30)
AUTHOR_STILL_HERE = (
    "The draft's author is still in this client's care and worked on it within 30 days; "
    "ask them to finish or discard it."
)
VIEW_COLUMNS = (
    "id",
    "client_id",
    "author_id",
    "number",
    "review_date",
    "status",
    "version",
    "created_at",
    "updated_at",
    "signed_at",
)


def plans_query(client: Client):
    """The client's plan versions, newest first."""
    return (
        sa.select(TreatmentPlan)
        .where(
            TreatmentPlan.client_id == client.id, TreatmentPlan.practice_id == client.practice_id
        )
        .order_by(TreatmentPlan.number.desc())
    )


def current_plan(client: Client) -> TreatmentPlan | None:
    """The newest signed version: the plan in force."""
    return db.session.scalar(plans_query(client).where(TreatmentPlan.status == "signed").limit(1))


def open_content(plan: TreatmentPlan, client: Client) -> dict:
    return keys.unseal(client, TABLE, "content", plan.id, plan.content, plan.version)


def plan_view(plan: TreatmentPlan, client: Client, content: dict | None = None) -> dict:
    """The plan's plain columns, its content, whether it is current and due for review."""
    view = {column: getattr(plan, column) for column in VIEW_COLUMNS}
    view["content"] = open_content(plan, client) if content is None else content
    view["due_for_review"] = is_due(plan)
    return view


def practice_today(practice_id: uuid.UUID) -> date:
    """Today in the practice's time zone (not the server's): a review date is a date on
    the practice's calendar, as scheduling's "today" is."""
    return utcnow().astimezone(db.session.get(Practice, practice_id).zone).date()


def is_due(plan: TreatmentPlan, today: date | None = None) -> bool:
    """A signed plan whose review date is past or within two weeks of the practice's
    today."""
    today = today or practice_today(plan.practice_id)
    return (
        plan.status == "signed"
        and plan.review_date is not None
        and plan.review_date <= today + DUE_WITHIN
    )


def goals_of(content: dict) -> dict[str, dict]:
    """The plan's goals by id."""
    return {goal["id"]: goal for goal in content.get("goals", [])}


def _checked(client: Client, raw: dict, known_goals: set[str]) -> dict:
    """Validated content: goals named by known ids (or given new ones), their scripts this
    client's. Raises Invalid with field-level errors."""
    content = PlanContentSchema().load(raw)
    errors: dict = {}
    named = {sid for goal in content["goals"] for sid in goal["script_ids"]}
    usable: set[str] = set()
    if named:
        rows = db.session.execute(
            sa.select(Script.id, Script.merged_into_id).where(
                Script.client_id == client.id,
                Script.practice_id == client.practice_id,
                Script.id.in_([uuid.UUID(s) for s in named]),
            )
        ).all()
        usable = {str(row.id) for row in rows if row.merged_into_id is None}
    ids: list[str] = []
    for index, goal in enumerate(content["goals"]):
        if goal["id"] is None:
            goal["id"] = str(uuid.uuid4())
        elif goal["id"] not in known_goals:
            errors.setdefault(str(index), {})["id"] = ["Not a goal of this client's plan."]
        ids.append(goal["id"])
        if any(sid not in usable for sid in goal["script_ids"]):
            errors.setdefault(str(index), {})["script_ids"] = [
                "Name scripts of this client (merged ones by their survivor)."
            ]
    if len(set(ids)) != len(ids):
        errors["_goals"] = ["A goal appears twice."]
    if errors:
        raise Invalid({"content": {"goals": errors}})
    return plain(content)


def _known_goals(client: Client, *plans: TreatmentPlan | None) -> set[str]:
    known: set[str] = set()
    for plan in plans:
        if plan is not None:
            known |= set(goals_of(open_content(plan, client)))
    return known


def create_plan(actor: Actor, client: Client, raw: dict | None, review_date: date | None) -> tuple:
    """A new draft version: `raw` content, or a copy of the current plan. One draft at a
    time (Conflict); returns (plan, content)."""
    if db.session.scalar(plans_query(client).where(TreatmentPlan.status == "draft").limit(1)):
        raise Conflict(DRAFT_EXISTS)
    current = current_plan(client)
    if raw is None:
        content = (
            open_content(current, client)
            if current is not None
            else plain(PlanContentSchema().load({}))
        )
        review_date = review_date or (current.review_date if current is not None else None)
    else:
        content = _checked(client, raw, _known_goals(client, current))
    number = (db.session.scalar(sa.select(sa.func.max(TreatmentPlan.number)).where(
        TreatmentPlan.client_id == client.id)) or 0) + 1  # fmt: skip
    now = utcnow()
    plan = TreatmentPlan(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        author_id=actor.user_id,
        number=number,
        review_date=review_date,
        created_at=now,
        updated_at=now,
    )
    plan.content = keys.seal(client, TABLE, "content", plan.id, content, 1)
    try:
        with db.session.begin_nested():
            db.session.add(plan)
    except IntegrityError:
        raise Conflict(DRAFT_EXISTS) from None  # a concurrent request took this number
    audit.record(
        db.session, "treatment_plan.create", object_type="treatment_plan", object_id=plan.id
    )
    return plan, content


def replace_plan(
    plan: TreatmentPlan, client: Client, raw: dict, review_date: date | None, version: int
) -> dict:
    """Replace a draft's content and review date, only at `version` (Stale otherwise)."""
    if plan.status != "draft":
        raise Conflict("A signed plan cannot change; start a new version.")
    if version != plan.version:
        raise Stale()
    content = _checked(client, raw, _known_goals(client, plan, current_plan(client)))
    sealed = keys.seal(client, TABLE, "content", plan.id, content, version + 1)
    values = {"content": sealed, "review_date": review_date}
    compare_and_set(TreatmentPlan, plan, version, values, TreatmentPlan.status == "draft")
    audit.record(
        db.session, "treatment_plan.update", object_type="treatment_plan", object_id=plan.id
    )
    return content


def sign_plan(plan: TreatmentPlan, client: Client, version: int) -> dict:
    """Sign a draft at `version`: it becomes the current plan. A plan to sign names at
    least one goal and a review date (Invalid otherwise)."""
    if plan.status != "draft":
        raise Conflict("This plan is already signed.")
    if version != plan.version:
        raise Stale()
    content = open_content(plan, client)
    errors = {}
    if not content.get("goals"):
        errors["content"] = {"goals": ["A plan to sign names at least one goal."]}
    if plan.review_date is None:
        errors["review_date"] = ["A plan to sign has a review date."]
    if errors:
        raise Invalid(errors, "A plan to sign names at least one goal and a review date.")
    sealed = keys.seal(client, TABLE, "content", plan.id, content, version + 1)
    values = {"status": "signed", "signed_at": utcnow(), "content": sealed}
    compare_and_set(TreatmentPlan, plan, version, values, TreatmentPlan.status == "draft")
    audit.record(db.session, "treatment_plan.sign", object_type="treatment_plan", object_id=plan.id)
    return content


def may_discard(user, plan: TreatmentPlan, client: Client) -> bool:
    """Whether `user` (a clinician in the client's care) may discard this draft: its
    author may; anyone else in the care once the author is no longer in the care or no
    longer active, or the draft has been untouched for DRAFT_IDLE."""
    if plan.status != "draft":
        return False
    if plan.author_id == user.id:
        return True
    author = db.session.get(User, plan.author_id)
    away = author is None or not author.active or not client.is_assigned(author.id)
    return away or plan.updated_at <= utcnow() - DRAFT_IDLE


def discard_plan(actor: Actor, plan: TreatmentPlan, client: Client, version: int) -> None:
    """Delete a draft at `version` (Stale otherwise), if the actor may (Forbidden
    otherwise); a signed plan never (Conflict; the database refuses it as well)."""
    if plan.status != "draft":
        raise Conflict("A signed plan is kept for good; start a new version instead.")
    if not may_discard(actor.user, plan, client):
        policy.deny("treatment_plan", plan.id, forbidden=True, message=AUTHOR_STILL_HERE)
    if version != plan.version:
        raise Stale()
    gone = db.session.execute(
        sa.delete(TreatmentPlan)
        .where(
            TreatmentPlan.id == plan.id,
            TreatmentPlan.version == version,
            TreatmentPlan.status == "draft",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if gone != 1:
        raise Stale()
    db.session.expunge(plan)
    audit.record(
        db.session, "treatment_plan.discard", object_type="treatment_plan", object_id=plan.id
    )


def read_plan(plan: TreatmentPlan, client: Client) -> dict:
    """The plan's view, the read audited."""
    view = plan_view(plan, client)
    audit.record(db.session, "treatment_plan.read", object_type="treatment_plan", object_id=plan.id)
    return view


# --- the whole read or write, for the front ends ----------------------------------------


def _plan_for(actor: Actor, plan_id: uuid.UUID, **kwargs) -> tuple[TreatmentPlan, Client]:
    return access.record_item_for(actor, TreatmentPlan, "treatment_plan", plan_id, **kwargs)


def page_of_plans(actor: Actor, client_id: uuid.UUID, *, page: int, page_size: int) -> dict:
    """One page of the client's plan versions, newest first; audited."""
    client = access.record_client_for(actor, client_id)
    found = paginate(plans_query(client), page, page_size)
    audit.record(db.session, "treatment_plan.list", object_type="client", object_id=client.id)
    return {**found, "items": [read_plan(plan, client) for plan in found["items"]]}


def start(actor: Actor, client_id: uuid.UUID, raw: dict | None, review_date: date | None) -> dict:
    """A new draft version (see create_plan), by a clinician in the client's care."""
    client = access.record_client_for(actor, client_id, write=True)
    plan, content = create_plan(actor, client, raw, review_date)
    return plan_view(plan, client, content)


def read(actor: Actor, plan_id: uuid.UUID) -> dict:
    """One plan version, for a reader of the client's record; audited."""
    return read_plan(*_plan_for(actor, plan_id))


def update(actor: Actor, plan_id: uuid.UUID, raw: dict, review_date: date | None, *, sent) -> dict:
    """Replace the author's draft, based on one of the versions `sent`."""
    plan, client = _plan_for(actor, plan_id, write=True)
    if plan.status == "draft":
        versions.check_version(plan.version, sent)
    content = replace_plan(plan, client, raw, review_date, plan.version)
    return plan_view(plan, client, content)


def sign(actor: Actor, plan_id: uuid.UUID, *, sent) -> dict:
    """Sign the author's draft at the version they read: it is the plan in force."""
    plan, client = _plan_for(actor, plan_id, write=True)
    if plan.status == "draft":
        versions.check_version(plan.version, sent)
    content = sign_plan(plan, client, plan.version)
    return plan_view(plan, client, content)


def discard(actor: Actor, plan_id: uuid.UUID, *, sent) -> None:
    """Discard a draft at the version the actor read (see discard_plan): the client may
    then start a new one."""
    plan, client = _plan_for(actor, plan_id, write=True, author=False)
    if plan.status == "draft" and may_discard(actor.user, plan, client):
        versions.check_version(plan.version, sent)
    discard_plan(actor, plan, client, plan.version)
