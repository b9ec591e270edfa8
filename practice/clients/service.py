"""Client records: who may see them, the rules a record must satisfy, create and update.

Services flush and never commit; the request boundary commits. Every read and write is
audited with ids only — never names or contact details.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import phonenumbers
import sqlalchemy as sa
from flask import current_app, has_app_context
from phonenumbers import NumberParseException, PhoneNumberFormat

from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import User
from practice.clients import duplicates
from practice.clients.models import CareTeamMember, Client
from practice.errors import Invalid
from practice.extensions import db

MAX_CARE_TEAM = 20
MAX_AGE_YEARS = 130
# Intake may be booked ahead (the first session is next month), but not absurdly far.
MAX_INTAKE_AHEAD_DAYS = 366
EARLIEST_DATE = date(1900, 1, 1)
DEMOGRAPHIC_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "email",
    "phone",
    "status",
    "intake_date",
    "discharge_date",
)
NO_SUCH_CLINICIAN = "No active clinician of this practice has this id."


class ClientError(Invalid, ValueError):
    """A client record the rules refuse; `errors` maps field names to messages."""

    default_message = "The client record was refused."


def get_client_for(user: User, client_id: uuid.UUID) -> Client:
    """The client if `user` may see its record; otherwise 404 (audited), like a missing id."""
    client = db.session.get(Client, client_id)
    if client is None or not policy.can_see_client(user, client):
        policy.deny("client", client_id)
    return client


def read_client(user: User, client_id: uuid.UUID) -> Client:
    """Load a client for display and audit the read."""
    client = get_client_for(user, client_id)
    audit.record(db.session, "client.read", object_type="client", object_id=client.id)
    return client


def visible_clients(user: User, *, rows: bool = False) -> sa.Select:
    """A select() of the clients `user` may see, scoped to the user's practice. With
    `rows`, their columns as plain rows rather than entities, for a list that only shows
    them (no identity map), each with its care team in the same statement: `care_team`,
    read with care_team_of()."""
    if rows:
        team = sa.select(
            sa.func.aggregate_strings(sa.cast(CareTeamMember.user_id, sa.String), ",")
        ).where(CareTeamMember.client_id == Client.id)
        query = sa.select(Client.__table__, team.scalar_subquery().label("care_team"))
    else:
        query = sa.select(Client)
    query = query.where(Client.practice_id == user.practice_id)
    if policy.sees_all_clients(user):
        return query
    if user.has_role("clinician"):
        return query.where(_assigned_to(user.id))
    return query.where(sa.false())


def _assigned_to(clinician_id: uuid.UUID):
    care_team = sa.select(CareTeamMember.client_id).where(CareTeamMember.user_id == clinician_id)
    return sa.or_(Client.primary_clinician_id == clinician_id, Client.id.in_(care_team))


def supervisees_with_clients(supervisor: User) -> list[tuple[User, list[Client]]]:
    """The supervisor's supervisees in effect, by name, each with the clients in their
    care (by last and first name); audited as supervision.list."""
    ids = policy.supervisee_ids(supervisor)
    people = (
        db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.name)).all()
        if ids
        else []
    )
    rows = []
    for person in people:
        theirs = db.session.scalars(
            sa.select(Client)
            .where(Client.practice_id == supervisor.practice_id)
            .where(_assigned_to(person.id))
            .order_by(Client.last_name, Client.first_name)
        ).all()
        rows.append((person, list(theirs)))
    audit.record(db.session, "supervision.list", object_type="user", object_id=supervisor.id)
    return rows


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_clients(
    user: User,
    *,
    q: str | None = None,
    status: str | None = None,
    clinician_id: uuid.UUID | None = None,
    rows: bool = False,
) -> sa.Select:
    """Visible clients filtered by name words, status and clinician, sorted by name
    (`rows`: as in visible_clients)."""
    query = visible_clients(user, rows=rows)
    for word in Client.fold(q).split():
        query = query.where(Client.name_search.like(f"%{_like_escape(word)}%", escape="\\"))
    if status:
        query = query.where(Client.status == status)
    if clinician_id:
        query = query.where(_assigned_to(clinician_id))
    return query.order_by(Client.last_name, Client.first_name, Client.id)


def care_team_of(row) -> list[uuid.UUID]:
    """The care team members' ids of a client row from visible_clients(rows=True)."""
    return [uuid.UUID(member) for member in row.care_team.split(",")] if row.care_team else []


def audit_listed(clients) -> None:
    """One audit entry per client whose record a list showed."""
    for client in clients:
        audit.record(db.session, "client.list", object_type="client", object_id=client.id)


def practice_today(user: User) -> date:
    """Today's date in the practice's time zone."""
    return datetime.now(user.practice.zone).date()


def phone_region(user: User) -> str | None:
    """The region for numbers written without a country code: the practice's own, else
    the deployment's PRACTICE_PHONE_REGION; None: such numbers are refused."""
    region = user.practice.phone_region
    if not region and has_app_context():
        region = current_app.config.get("PRACTICE_PHONE_REGION")
    return region.strip().upper() if region else None


def normalise_phone(raw: str, region: str | None) -> str:
    """A phone number in E.164 (`+4930123456`); ClientError when it is not a valid number."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            hint = "Write the number with its country code, e.g. +49 30 1234567."
            raise ClientError({"phone": [hint]}) from None
        raise ClientError({"phone": ["This is not a phone number."]}) from None
    if number.extension:
        raise ClientError({"phone": ["Extensions are not supported; leave them out."]})
    if not phonenumbers.is_valid_number(number):
        raise ClientError({"phone": ["This is not a valid phone number."]})
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _active_clinicians(user: User, ids) -> set[uuid.UUID]:
    """Which of `ids` are active users of the caller's practice with the clinician role."""
    if not ids:
        return set()
    rows = db.session.scalars(
        sa.select(User).where(
            User.id.in_(list(ids)),
            User.practice_id == user.practice_id,
        )
    )
    return {row.id for row in rows if row.is_active_clinician}


def _check_dates(user: User, record: dict, errors: dict) -> None:
    today = practice_today(user)
    born, intake, discharge = (
        record.get("date_of_birth"),
        record.get("intake_date"),
        record.get("discharge_date"),
    )
    if born is not None:
        if born > today:
            errors["date_of_birth"] = ["The date of birth cannot be in the future."]
        elif born < max(EARLIEST_DATE, today.replace(year=today.year - MAX_AGE_YEARS, day=1)):
            errors["date_of_birth"] = [f"The date of birth is more than {MAX_AGE_YEARS} years ago."]
    if intake is not None:
        if intake < EARLIEST_DATE:
            errors["intake_date"] = ["The intake date is too far in the past."]
        elif (intake - today).days > MAX_INTAKE_AHEAD_DAYS:
            errors["intake_date"] = ["The intake date is more than a year ahead."]
        elif born is not None and intake < born:
            errors["intake_date"] = ["The intake date is before the date of birth."]
    if discharge is not None:
        if record.get("status") != "discharged":
            errors["discharge_date"] = ["Only a discharged client has a discharge date."]
        elif discharge > today:
            errors["discharge_date"] = ["The discharge date cannot be in the future."]
        elif intake is not None and discharge < intake:
            errors["discharge_date"] = ["The discharge date is before the intake date."]


def _check_team(user: User, primary_id, team_ids, *, check_primary, new_members, errors) -> None:
    too_big = team_ids is not None and len(set(team_ids)) > MAX_CARE_TEAM
    to_check = ({primary_id} if check_primary else set()) | (
        set(new_members) if team_ids is not None and not too_big else set()
    )
    valid = _active_clinicians(user, to_check)  # one query for the primary and the team
    if check_primary and primary_id not in valid:
        errors["primary_clinician_id"] = [NO_SUCH_CLINICIAN]
    if team_ids is None:
        return
    if too_big:
        errors["care_team_ids"] = [f"A care team has at most {MAX_CARE_TEAM} clinicians."]
        return
    problems = {}
    for index, member_id in enumerate(team_ids):
        if member_id == primary_id:
            problems[str(index)] = ["The primary clinician is not also on the care team."]
        elif member_id in new_members and member_id not in valid:
            problems[str(index)] = [NO_SUCH_CLINICIAN]
    if problems:
        errors["care_team_ids"] = problems


def _clinician_only(user: User) -> bool:
    return user.has_role("clinician") and not policy.sees_all_clients(user)


def _set_care_team(client: Client, team_ids) -> None:
    wanted = list(dict.fromkeys(team_ids))
    client.care_team = [m for m in client.care_team if m.user_id in wanted]
    have = client.care_team_ids
    for member_id in wanted:
        if member_id not in have:
            client.care_team.append(CareTeamMember(user_id=member_id))


def _clean_contact(user: User, record: dict, errors: dict) -> None:
    if record.get("phone"):
        try:
            record["phone"] = normalise_phone(record["phone"], phone_region(user))
        except ClientError as exc:
            errors.update(exc.errors)


def create_client(user: User, data: dict, *, allow_duplicate: bool = False) -> Client:
    """A new client of the caller's practice; ClientError (422) or 403 when refused;
    duplicates.PossibleDuplicate when it looks like a client the caller can see, unless
    `allow_duplicate` (then registered, and the override audited)."""
    if not user.has_role("owner", "scheduler", "clinician"):
        policy.deny("client", forbidden=True, message="Your role does not allow this.")
    record = {name: data.get(name) for name in DEMOGRAPHIC_FIELDS}
    record["status"] = record["status"] or "active"
    primary_id = data.get("primary_clinician_id")
    if primary_id is None and user.has_role("clinician"):
        primary_id = user.id
    if primary_id is None:
        raise ClientError({"primary_clinician_id": ["Missing data for required field."]})
    if _clinician_only(user) and primary_id != user.id:
        policy.deny(
            "client", forbidden=True, message="Clinicians can create clients only for themselves."
        )
    if record["status"] == "discharged" and record["discharge_date"] is None:
        record["discharge_date"] = practice_today(user)
    team_ids = list(dict.fromkeys(data.get("care_team_ids") or []))
    errors: dict = {}
    _clean_contact(user, record, errors)
    _check_dates(user, record, errors)
    _check_team(
        user, primary_id, team_ids, check_primary=True, new_members=set(team_ids), errors=errors
    )
    if errors:
        raise ClientError(errors)
    candidates = duplicates.find(visible_clients(user), record)
    if candidates and not allow_duplicate:
        raise duplicates.PossibleDuplicate(candidates)
    client = Client(practice_id=user.practice_id, primary_clinician_id=primary_id, **record)
    _set_care_team(client, team_ids)
    db.session.add(client)
    db.session.flush()
    audit.record(db.session, "client.create", object_type="client", object_id=client.id)
    if candidates:
        # Registered although it looked like a client already known: say so in the log.
        audit.record(
            db.session, "client.duplicate_override", object_type="client", object_id=client.id
        )
    return client


def update_client(user: User, client: Client, changes: dict) -> Client:
    """Apply a partial update after checking the whole resulting record."""
    record = {name: getattr(client, name) for name in DEMOGRAPHIC_FIELDS}
    record.update({k: v for k, v in changes.items() if k in DEMOGRAPHIC_FIELDS})
    primary_id = changes.get("primary_clinician_id", client.primary_clinician_id)
    primary_changed = primary_id != client.primary_clinician_id
    team_ids = changes.get("care_team_ids")
    if team_ids is not None:
        team_ids = list(dict.fromkeys(team_ids))
    if _clinician_only(user):
        if primary_changed:
            policy.deny(
                "client", client.id, forbidden=True, message="Only the front desk reassigns."
            )
        team_changed = team_ids is not None and set(team_ids) != client.care_team_ids
        if team_changed and client.primary_clinician_id != user.id:
            policy.deny(
                "client", client.id, forbidden=True, message="Only the primary clinician does that."
            )
    if primary_changed and team_ids is None:
        team_ids = [m for m in client.care_team_ids if m != primary_id]
    status_changed = record["status"] != client.status
    if status_changed and record["status"] == "discharged" and record["discharge_date"] is None:
        record["discharge_date"] = practice_today(user)
    if status_changed and client.status == "discharged" and "discharge_date" not in changes:
        record["discharge_date"] = None  # readmitted: the old discharge no longer applies
    errors: dict = {}
    if "phone" in changes:
        _clean_contact(user, record, errors)
    _check_dates(user, record, errors)
    new_members = set(team_ids or []) - client.care_team_ids
    _check_team(
        user,
        primary_id,
        team_ids,
        check_primary=primary_changed,
        new_members=new_members,
        errors=errors,
    )
    if errors:
        raise ClientError(errors)
    for name, value in record.items():
        if getattr(client, name) != value:
            setattr(client, name, value)
    client.primary_clinician_id = primary_id
    if team_ids is not None:
        _set_care_team(client, team_ids)
    db.session.flush()
    audit.record(db.session, "client.update", object_type="client", object_id=client.id)
    return client
