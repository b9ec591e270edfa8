"""Treatment plans as pages: the versions of a client's plan, one version, the editor of
a draft (goals with their scripts and objectives, added and removed by leaving words out,
so no JavaScript is needed), signing with a confirmation."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.auth import policy
from practice.errors import Invalid, Stale
from practice.extensions import db
from practice.login import current_actor
from practice.notes.scripts import live_scripts
from practice.record import access, plans
from practice.record.content import SESSION_FREQUENCIES
from practice.record.models import TreatmentPlan
from practice.web.clients import initials
from practice.web.pages import clinician_pages, refused
from practice.web.record_form import flat_errors, form_version, plan_content

bp = Blueprint("web_plans", __name__)


def _load(plan_id, **kwargs):
    return access.record_item_for(
        current_actor(), TreatmentPlan, "treatment_plan", plan_id, **kwargs
    )


def _title(plan, client) -> str:
    return f"Plan {plan.number} {initials(client)}"


def _script_names(client) -> dict[str, str]:
    return {str(script["id"]): script["name"] for script in live_scripts(client)}


@bp.get("/clients/<uuid:client_id>/treatment-plans")
@clinician_pages
def versions(client_id):
    """Every version of the client's plan, newest first, the one in force marked."""
    client = access.record_client_for(current_actor(), client_id)
    listed = db.session.scalars(plans.plans_query(client)).all()
    current = next((p for p in listed if p.status == "signed"), None)
    return render_template(
        "record/plans.html",
        client=client,
        plans=listed,
        current=current,
        writes=policy.can_do_clinical_work(current_user, client),
        today=date.today(),
        title=f"Treatment plans {initials(client)}",
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
    plan, client = _load(treatment_plan_id)
    current = plans.current_plan(client)
    return render_template(
        "record/plan.html",
        plan=plans.read_plan(plan, client),
        client=client,
        is_current=current is not None and current.id == plan.id,
        edits=plan.status == "draft"
        and plan.author_id == current_user.id
        and policy.can_do_clinical_work(current_user, client),
        script_names=_script_names(client),
        title=_title(plan, client),
    )


def _editor(plan, client, content, version, review_date, *, errors=None, status=200, stale=False):
    scripts = live_scripts(client)
    return (
        render_template(
            "record/plan_edit.html",
            plan=plan,
            client=client,
            content=content,
            version=version,
            review_date=review_date,
            scripts=scripts,
            frequencies=SESSION_FREQUENCIES,
            errors=errors or [],
            stale=stale,
            saved=request.args.get("saved") == "1",
            title=_title(plan, client),
        ),
        status,
    )


@bp.get("/treatment-plans/<uuid:treatment_plan_id>/edit")
@clinician_pages
def edit(treatment_plan_id):
    plan, client = _load(treatment_plan_id, write=True)
    if plan.status != "draft":
        return redirect(url_for("web_plans.view", treatment_plan_id=plan.id))
    content = plans.read_plan(plan, client)["content"]
    review = plan.review_date.isoformat() if plan.review_date else ""
    return _editor(plan, client, content, plan.version, review)


@bp.post("/treatment-plans/<uuid:treatment_plan_id>/edit")
@clinician_pages
def save(treatment_plan_id):
    """Save the draft against the version the form was opened at."""
    plan, client = _load(treatment_plan_id, write=True)
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
        return _editor(plan, client, content, version, review_text, errors=errors, status=422)
    try:
        plans.update(current_actor(), plan.id, content, review, sent={str(version)})
    except (ValidationError, Invalid) as exc:
        refused("treatment_plan.update", "treatment_plan", plan.id)
        found = exc.messages if isinstance(exc, ValidationError) else exc.errors
        return _editor(
            plan, client, content, version, review_text, errors=flat_errors(found), status=422
        )
    except Stale:
        refused("treatment_plan.update", "treatment_plan", plan.id)
        db.session.refresh(plan)
        return _editor(plan, client, content, plan.version, review_text, status=409, stale=True)
    return redirect(url_for("web_plans.edit", treatment_plan_id=plan.id, saved=1))


@bp.get("/treatment-plans/<uuid:treatment_plan_id>/sign")
@clinician_pages
def confirm_sign(treatment_plan_id):
    plan, client = _load(treatment_plan_id, write=True)
    if plan.status != "draft":
        return redirect(url_for("web_plans.view", treatment_plan_id=plan.id))
    return render_template(
        "record/sign.html",
        what="treatment plan",
        version=plan.version,
        action=url_for("web_plans.sign", treatment_plan_id=plan.id),
        back=url_for("web_plans.edit", treatment_plan_id=plan.id),
        title=_title(plan, client),
    )


@bp.post("/treatment-plans/<uuid:treatment_plan_id>/sign")
@clinician_pages
def sign(treatment_plan_id):
    """Sign the draft at the version the confirmation was shown for: it is now in force."""
    plans.sign(current_actor(), treatment_plan_id, sent={str(form_version(request.form))})
    return redirect(url_for("web_plans.view", treatment_plan_id=treatment_plan_id))
