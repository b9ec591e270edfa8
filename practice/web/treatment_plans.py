"""Treatment plans as pages: the versions of a client's plan, one version, the editor of
a draft (goals with their scripts and objectives, added and removed by leaving words out,
so no JavaScript is needed), signing with a confirmation."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from marshmallow import ValidationError

from practice.errors import Invalid, NotFound, Stale
from practice.extensions import db
from practice.login import current_actor
from practice.record import pages, plans
from practice.record.content import SESSION_FREQUENCIES
from practice.web.clients import initials
from practice.web.pages import clinician_pages, refused
from practice.web.record_form import flat_errors, form_version, plan_content, sign_confirmation

bp = Blueprint("web_plans", __name__)


def _title(plan, client) -> str:
    return f"Plan {plan.number} {initials(client)}"


@bp.get("/clients/<uuid:client_id>/treatment-plans")
@clinician_pages
def versions(client_id):
    """Every version of the client's plan, newest first, the one in force marked."""
    found = pages.plan_versions(current_actor(), client_id)
    return render_template(
        "record/plans.html", **found, title=f"Treatment plans {initials(found['client'])}"
    )


@bp.post("/clients/<uuid:client_id>/treatment-plans")
@clinician_pages
def new_version(client_id):
    """Start a new version: a copy of the plan in force (or an empty plan)."""
    plan = plans.start(current_actor(), client_id, None, None)
    return redirect(url_for("web_plans.edit", treatment_plan_id=plan["id"]))


@bp.get("/treatment-plans/<uuid:treatment_plan_id>")
@clinician_pages
def view(treatment_plan_id):
    found = pages.plan_page(current_actor(), treatment_plan_id)
    plan = found.pop("row")
    return render_template("record/plan.html", **found, title=_title(plan, found["client"]))


def _editor(found: dict, content=None, version=None, review_date=None, **answer):
    """The editor: `found` from pages.plan_editor; what was posted when a save is
    answered with the form again."""
    plan, client = found["row"], found["client"]
    errors, stale = answer.get("errors"), answer.get("stale", False)
    return (
        render_template(
            "record/plan_edit.html",
            plan=plan,
            client=client,
            content=found["content"] if content is None else content,
            version=found["version"] if version is None else version,
            review_date=found["review_date"] if review_date is None else review_date,
            scripts=found["scripts"],
            frequencies=SESSION_FREQUENCIES,
            errors=errors or [],
            stale=stale,
            saved=request.args.get("saved") == "1",
            title=_title(plan, client),
        ),
        answer.get("status", 200),
    )


@bp.get("/treatment-plans/<uuid:treatment_plan_id>/edit")
@clinician_pages
def edit(treatment_plan_id):
    found = pages.plan_editor(current_actor(), treatment_plan_id)
    if found["row"].status != "draft":
        return redirect(url_for("web_plans.view", treatment_plan_id=treatment_plan_id))
    return _editor(found)


@bp.post("/treatment-plans/<uuid:treatment_plan_id>/edit")
@clinician_pages
def save(treatment_plan_id):
    """Save the draft against the version the form was opened at."""
    actor = current_actor()
    found = pages.plan_editor(actor, treatment_plan_id)  # who may, before what was sent
    plan = found["row"]
    plan_id = plan.id  # kept: a draft discarded meanwhile cannot be asked afterwards
    version = form_version(request.form)
    content = plan_content(request.form)
    review_text = request.form.get("review_date", "")
    try:
        review = date.fromisoformat(review_text) if review_text else None
        if review is not None and not 1900 <= review.year <= 2999:
            raise ValueError
    except ValueError:
        refused("treatment_plan.update", "treatment_plan", plan.id)
        errors = [("review_date", "Give the review date as a date.")]
        return _editor(found, content, version, review_text, errors=errors, status=422)
    try:
        plans.update(actor, plan.id, content, review, sent={str(version)})
    except (ValidationError, Invalid) as exc:
        refused("treatment_plan.update", "treatment_plan", plan.id)
        said = exc.messages if isinstance(exc, ValidationError) else exc.errors
        return _editor(found, content, version, review_text, errors=flat_errors(said), status=422)
    except Stale:
        refused("treatment_plan.update", "treatment_plan", plan_id)
        if pages.plan_is_gone(plan_id):  # discarded (in another tab, say) meanwhile
            raise NotFound("treatment_plan") from None
        db.session.refresh(plan)
        return _editor(found, content, plan.version, review_text, status=409, stale=True)
    return redirect(url_for("web_plans.edit", treatment_plan_id=plan.id, saved=1))


@bp.get("/treatment-plans/<uuid:treatment_plan_id>/sign")
@clinician_pages
def confirm_sign(treatment_plan_id):
    found = pages.draft_to_sign(current_actor(), "treatment_plan", treatment_plan_id)
    plan, client = found["row"], found["client"]
    return sign_confirmation(
        plan, "treatment plan", "web_plans", "treatment_plan_id", _title(plan, client)
    )


@bp.get("/treatment-plans/<uuid:treatment_plan_id>/discard")
@clinician_pages
def confirm_discard(treatment_plan_id):
    found = pages.draft_to_discard(current_actor(), treatment_plan_id)
    plan, client = found["row"], found["client"]
    if plan.status != "draft":
        return redirect(url_for("web_plans.view", treatment_plan_id=plan.id))
    return render_template(
        "record/plan_discard.html",
        plan=plan,
        client=client,
        own=found["own"],
        title=_title(plan, client),
    )


@bp.post("/treatment-plans/<uuid:treatment_plan_id>/discard")
@clinician_pages
def discard(treatment_plan_id):
    """Discard the draft at the version the confirmation was shown for; back to the
    client's versions, where a new one can be started."""
    actor = current_actor()
    found = pages.draft_to_discard(actor, treatment_plan_id)
    plans.discard(actor, treatment_plan_id, sent={str(form_version(request.form))})
    return redirect(url_for("web_plans.versions", client_id=found["client"].id))


@bp.post("/treatment-plans/<uuid:treatment_plan_id>/sign")
@clinician_pages
def sign(treatment_plan_id):
    """Sign the draft at the version the confirmation was shown for: it is now in force."""
    plans.sign(current_actor(), treatment_plan_id, sent={str(form_version(request.form))})
    return redirect(url_for("web_plans.view", treatment_plan_id=treatment_plan_id))
