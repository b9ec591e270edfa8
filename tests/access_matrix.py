"""The access matrix (SECURITY.md item 8): (method, route) → {persona: expected status}.

Personas are defined in tests/access_world.py. 404 means "not yours to see" (exactly like
an id that does not exist); 403 means the caller can see the resource or route but their
role may not do this. Clinical data (notes, scripts, figures, themes) answers only the
author and, read-only, the author"s supervisor. Reviewed by hand; change a row only
together with the code and a reason in the commit message.
"""

P = ("owner", "author", "other_clinician", "scheduler", "supervisor", "other_practice", "anonymous")


def row(*statuses: int) -> dict[str, int]:
    """Statuses in the order of P."""
    assert len(statuses) == len(P)
    return dict(zip(P, statuses, strict=True))


# fmt: off
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("DELETE", "/api/v1/auth/tokens/<uuid:token_id>"):
        row(404, 204, 404, 404, 404, 404, 401),
    ("DELETE", "/api/v1/auth/supervision/<uuid:link_id>"):
        row(404, 204, 404, 404, 204, 404, 401),
    ("DELETE", "/api/v1/clinicians/<uuid:clinician_id>/calendar-token"):
        row(403, 204, 403, 403, 403, 404, 401),
    ("DELETE", "/api/v1/users/<uuid:user_id>/totp"):
        row(204, 403, 403, 403, 403, 404, 401),
    ("DELETE", "/api/v1/users/<uuid:user_id>/supervisees/<uuid:clinician_id>"):
        row(204, 403, 403, 403, 403, 404, 401),
    ("GET", "/api/docs"):
        row(200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/docs/static/<path:filename>"):
        row(200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/openapi.json"):
        row(200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/appointments"):
        row(200, 200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/appointments/free-slots"):
        row(200, 200, 422, 200, 403, 422, 401),
    ("GET", "/api/v1/appointments/<uuid:appointment_id>"):
        row(200, 200, 404, 200, 403, 404, 401),
    ("GET", "/api/v1/audit"):
        row(200, 403, 403, 403, 403, 200, 401),
    ("GET", "/api/v1/auth/csrf"):
        row(400, 400, 400, 400, 400, 400, 401),
    ("GET", "/api/v1/auth/me"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("GET", "/api/v1/auth/supervision"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("GET", "/api/v1/auth/tokens"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("GET", "/api/v1/clients"):
        row(200, 200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>"):
        row(200, 200, 404, 200, 404, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/export"):
        row(200, 200, 404, 403, 404, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/figures"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/notes"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/scripts"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/scripts/<uuid:script_id>"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/themes"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/themes.csv"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/themes.svg"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/clinicians/<uuid:clinician_id>/calendar.ics"):
        row(404, 404, 404, 404, 404, 404, 404),
    ("GET", "/api/v1/health"):
        row(200, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/notes/<uuid:note_id>"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/api/v1/practice"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("GET", "/api/v1/rooms"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("GET", "/api/v1/rooms/<uuid:room_id>"):
        row(200, 200, 200, 200, 200, 404, 401),
    ("GET", "/api/v1/users"):
        row(200, 403, 403, 403, 403, 200, 401),
    ("GET", "/api/v1/users/<uuid:user_id>"):
        row(200, 403, 403, 403, 403, 404, 401),
    ("GET", "/api/v1/vocabularies"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("PATCH", "/api/v1/appointments/<uuid:appointment_id>"):
        row(200, 200, 404, 200, 403, 404, 401),
    ("PATCH", "/api/v1/clients/<uuid:client_id>"):
        row(200, 200, 404, 200, 404, 404, 401),
    ("PATCH", "/api/v1/clients/<uuid:client_id>/figures/<uuid:figure_id>"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("PATCH", "/api/v1/clients/<uuid:client_id>/scripts/<uuid:script_id>"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("PATCH", "/api/v1/practice"):
        row(200, 403, 403, 403, 403, 200, 401),
    ("PATCH", "/api/v1/rooms/<uuid:room_id>"):
        row(200, 403, 403, 403, 403, 404, 401),
    ("PATCH", "/api/v1/users/<uuid:user_id>"):
        row(200, 403, 403, 403, 403, 404, 401),
    ("POST", "/api/v1/appointments"):
        row(201, 201, 422, 201, 403, 422, 401),
    ("POST", "/api/v1/auth/login"):
        row(401, 401, 401, 401, 401, 401, 401),
    ("POST", "/api/v1/auth/logout"):
        row(204, 204, 204, 204, 204, 204, 401),
    ("POST", "/api/v1/auth/email"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("POST", "/api/v1/auth/password"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("POST", "/api/v1/auth/supervision/<uuid:link_id>/accept"):
        row(404, 404, 200, 404, 403, 404, 401),
    ("POST", "/api/v1/auth/supervision/<uuid:link_id>/decline"):
        row(404, 404, 200, 404, 403, 404, 401),
    ("POST", "/api/v1/auth/tokens"):
        row(201, 201, 201, 201, 201, 201, 401),
    ("POST", "/api/v1/auth/totp/disable"):
        row(422, 422, 422, 422, 422, 422, 401),
    ("POST", "/api/v1/auth/totp/recovery-codes"):
        row(422, 422, 422, 422, 422, 422, 401),
    ("POST", "/api/v1/auth/totp/enable"):
        row(422, 422, 422, 422, 422, 422, 401),
    ("POST", "/api/v1/auth/totp/setup"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("POST", "/api/v1/clients"):
        row(201, 201, 403, 201, 403, 422, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/figures"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/notes"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/scripts"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/scripts/<uuid:script_id>/merge"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/clinicians/<uuid:clinician_id>/calendar-token"):
        row(403, 201, 403, 403, 403, 404, 401),
    ("POST", "/api/v1/notes/<uuid:note_id>/addenda"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/notes/<uuid:note_id>/sign"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/rooms"):
        row(201, 403, 403, 403, 403, 201, 401),
    ("POST", "/api/v1/users"):
        row(201, 403, 403, 403, 403, 201, 401),
    ("POST", "/api/v1/users/<uuid:user_id>/supervisees/<uuid:clinician_id>"):
        row(200, 403, 403, 403, 403, 404, 401),
    ("PUT", "/api/v1/notes/<uuid:note_id>"):
        row(404, 200, 404, 404, 403, 404, 401),
}
# fmt: on

# The web app's pages (practice.web), called with a session cookie (pages never take a
# bearer token: tests/web/test_account.py); anonymous GETs are sent to the sign-in page
# (302), anonymous POSTs get the "signed out" page that keeps the form (401). Clinical
# pages answer owners and schedulers the 404 page.
# fmt: off
EXPECTED.update({
    ("GET", "/clients/<uuid:client_id>/scripts/new"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/clients/<uuid:client_id>/scripts/new"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/clients/<uuid:client_id>/scripts/<uuid:script_id>/edit"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/clients/<uuid:client_id>/scripts/<uuid:script_id>/edit"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/clients/<uuid:client_id>/scripts/<uuid:script_id>/merge"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/clients/<uuid:client_id>/scripts/<uuid:script_id>/merge"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/clients/<uuid:client_id>/figures/new"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/clients/<uuid:client_id>/figures/new"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/clients/<uuid:client_id>/figures/<uuid:figure_id>/edit"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/clients/<uuid:client_id>/figures/<uuid:figure_id>/edit"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/"):
        row(302, 302, 302, 302, 302, 302, 200),
    ("GET", "/sign-in"):
        row(302, 302, 302, 302, 302, 302, 200),
    ("POST", "/sign-in"):
        row(400, 400, 400, 400, 400, 400, 400),
    ("GET", "/sign-in/code"):
        row(302, 302, 302, 302, 302, 302, 302),
    ("POST", "/sign-in/code"):
        row(400, 400, 400, 400, 400, 400, 400),
    ("POST", "/sign-out"):
        row(302, 302, 302, 302, 302, 302, 401),
    ("GET", "/account"):
        row(200, 200, 200, 200, 200, 200, 302),
    ("GET", "/account/password"):
        row(200, 200, 200, 200, 200, 200, 302),
    ("POST", "/account/password"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("GET", "/account/two-factor"):
        row(200, 200, 200, 200, 200, 200, 302),
    ("POST", "/account/two-factor/setup"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("POST", "/account/two-factor/enable"):
        row(422, 422, 422, 422, 422, 422, 401),
    ("GET", "/week"):
        row(404, 200, 200, 404, 404, 200, 302),
    ("GET", "/week/<start>"):
        row(404, 200, 200, 404, 404, 200, 302),
    ("GET", "/appointments/<uuid:appointment_id>"):
        row(404, 200, 404, 404, 404, 404, 302),
    ("POST", "/appointments/<uuid:appointment_id>/status"):
        row(404, 409, 404, 404, 404, 404, 401),
    ("GET", "/clients"):
        row(404, 200, 200, 404, 404, 200, 302),
    ("GET", "/clients/<uuid:client_id>"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("GET", "/supervision"):
        row(404, 404, 404, 404, 200, 200, 302),
    ("POST", "/clients/<uuid:client_id>/notes"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/notes/<uuid:note_id>"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("GET", "/notes/<uuid:note_id>/edit"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/notes/<uuid:note_id>/edit"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("POST", "/notes/<uuid:note_id>/autosave"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("GET", "/notes/<uuid:note_id>/sign"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/notes/<uuid:note_id>/sign"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("POST", "/notes/<uuid:note_id>/addenda"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/clients/<uuid:client_id>/themes"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("GET", "/clients/<uuid:client_id>/themes/scripts/<uuid:script_id>"):
        row(404, 200, 404, 404, 200, 404, 302),
    # The front desk's scheduling (owners and schedulers; clinicians have their own week).
    ("GET", "/day"):
        row(302, 404, 404, 302, 404, 302, 302),
    ("GET", "/day/<day>"):
        row(200, 404, 404, 200, 404, 200, 302),
    ("GET", "/day/<day>/rooms"):
        row(200, 404, 404, 200, 404, 200, 302),
    ("GET", "/clinicians/<uuid:clinician_id>/week"):
        row(200, 404, 404, 200, 404, 404, 302),
    ("GET", "/clinicians/<uuid:clinician_id>/week/<start>"):
        row(200, 404, 404, 200, 404, 404, 302),
    ("GET", "/bookings/new"):
        row(200, 404, 404, 200, 404, 200, 302),
    ("POST", "/bookings/new"):
        row(302, 404, 404, 302, 404, 422, 401),
    ("GET", "/bookings/<uuid:appointment_id>"):
        row(200, 404, 404, 200, 404, 404, 302),
    ("POST", "/bookings/<uuid:appointment_id>/change"):
        row(302, 404, 404, 302, 404, 404, 401),
    ("POST", "/bookings/<uuid:appointment_id>/status"):
        row(302, 404, 404, 302, 404, 404, 401),
    ("POST", "/bookings/<uuid:appointment_id>/undo"):
        row(409, 404, 404, 409, 404, 404, 401),
    ("GET", "/static/<path:filename>"):
        row(200, 200, 200, 200, 200, 200, 200),
})
# fmt: on

# The front desk's clients and the owner's pages (issue 12): clients for owners and
# schedulers (the export for owners only, as in the API), the rest for owners; everyone
# else gets the 404 page, as for a page that does not exist. Another practice's owner
# reaches their own practice's pages and none of this practice's objects. Everyone has
# their API tokens; clinicians their calendar feed.
# fmt: off
EXPECTED.update({
    ("GET", "/desk/clients"):
        row(200, 404, 404, 200, 404, 200, 302),
    ("GET", "/desk/clients/new"):
        row(200, 404, 404, 200, 404, 200, 302),
    ("POST", "/desk/clients/new"):
        row(302, 404, 404, 302, 404, 422, 401),
    ("GET", "/desk/clients/<uuid:client_id>"):
        row(200, 404, 404, 200, 404, 404, 302),
    ("POST", "/desk/clients/<uuid:client_id>"):
        row(302, 404, 404, 302, 404, 404, 401),
    ("GET", "/desk/clients/<uuid:client_id>/export"):
        row(200, 404, 404, 403, 404, 404, 302),
    ("GET", "/admin/users"):
        row(200, 404, 404, 404, 404, 200, 302),
    ("GET", "/admin/users/new"):
        row(200, 404, 404, 404, 404, 200, 302),
    ("POST", "/admin/users/new"):
        row(200, 404, 404, 404, 404, 200, 401),
    ("GET", "/admin/users/<uuid:user_id>"):
        row(200, 404, 404, 404, 404, 404, 302),
    ("POST", "/admin/users/<uuid:user_id>"):
        row(302, 404, 404, 404, 404, 404, 401),
    ("POST", "/admin/users/<uuid:user_id>/active"):
        row(302, 404, 404, 404, 404, 404, 401),
    ("POST", "/admin/users/<uuid:user_id>/two-factor-reset"):
        row(302, 404, 404, 404, 404, 404, 401),
    ("GET", "/admin/supervision"):
        row(200, 404, 404, 404, 404, 200, 302),
    ("POST", "/admin/supervision"):
        row(302, 404, 404, 404, 404, 422, 401),
    ("POST", "/admin/supervision/<uuid:link_id>/end"):
        row(302, 404, 404, 404, 404, 404, 401),
    ("GET", "/admin/rooms"):
        row(200, 404, 404, 404, 404, 200, 302),
    ("POST", "/admin/rooms"):
        row(302, 404, 404, 404, 404, 302, 401),
    ("POST", "/admin/rooms/<uuid:room_id>"):
        row(302, 404, 404, 404, 404, 404, 401),
    ("GET", "/admin/practice"):
        row(200, 404, 404, 404, 404, 200, 302),
    ("POST", "/admin/practice"):
        row(302, 404, 404, 404, 404, 302, 401),
    ("GET", "/admin/audit"):
        row(200, 404, 404, 404, 404, 200, 302),
    ("GET", "/account/tokens"):
        row(200, 200, 200, 200, 200, 200, 302),
    ("POST", "/account/tokens"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("POST", "/account/tokens/<uuid:token_id>/revoke"):
        row(404, 302, 404, 404, 404, 404, 401),
    ("GET", "/account/calendar"):
        row(404, 200, 200, 404, 404, 200, 302),
    ("POST", "/account/calendar"):
        row(404, 200, 200, 404, 404, 200, 401),
    ("POST", "/account/calendar/stop"):
        row(404, 302, 409, 404, 404, 409, 401),
})
# fmt: on

# The clinical record (issue 13): progress notes and treatment plans are read by the
# client's care team and their supervisors (read-only), never by owners or schedulers;
# the author's own copy of their process notes goes to nobody but the author; record
# codes are read by everyone in the practice and changed by owners.
# fmt: off
EXPECTED.update({
    ("GET", "/api/v1/clients/<uuid:client_id>/progress-notes"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/progress-notes"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("GET", "/api/v1/progress-notes/<uuid:progress_note_id>"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("PUT", "/api/v1/progress-notes/<uuid:progress_note_id>"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/progress-notes/<uuid:progress_note_id>/sign"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/progress-notes/<uuid:progress_note_id>/addenda"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/treatment-plans"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/treatment-plans"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("GET", "/api/v1/treatment-plans/<uuid:treatment_plan_id>"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("PUT", "/api/v1/treatment-plans/<uuid:treatment_plan_id>"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/treatment-plans/<uuid:treatment_plan_id>/sign"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/treatment-plans/<uuid:treatment_plan_id>/discard"):
        row(404, 204, 404, 404, 403, 404, 401),
    ("GET", "/api/v1/record-codes"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("PUT", "/api/v1/record-codes"):
        row(200, 403, 403, 403, 403, 200, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/own-notes"):
        row(404, 200, 404, 404, 404, 404, 401),
    # Their pages (clinical pages: owners and schedulers get the 404 page).
    ("GET", "/appointments/<uuid:appointment_id>/progress-note"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("POST", "/clients/<uuid:client_id>/progress-notes"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/progress-notes/<uuid:progress_note_id>"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("GET", "/progress-notes/<uuid:progress_note_id>/edit"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/progress-notes/<uuid:progress_note_id>/edit"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/progress-notes/<uuid:progress_note_id>/sign"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/progress-notes/<uuid:progress_note_id>/sign"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("POST", "/progress-notes/<uuid:progress_note_id>/addenda"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/clients/<uuid:client_id>/treatment-plans"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("POST", "/clients/<uuid:client_id>/treatment-plans"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/treatment-plans/<uuid:treatment_plan_id>"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("GET", "/treatment-plans/<uuid:treatment_plan_id>/edit"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/treatment-plans/<uuid:treatment_plan_id>/edit"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/treatment-plans/<uuid:treatment_plan_id>/sign"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/treatment-plans/<uuid:treatment_plan_id>/sign"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/treatment-plans/<uuid:treatment_plan_id>/discard"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/treatment-plans/<uuid:treatment_plan_id>/discard"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("GET", "/clients/<uuid:client_id>/own-notes"):
        row(404, 200, 404, 404, 404, 404, 302),
})
# fmt: on

# Measures (issue 13): the instruments answer anyone signed in; a client's forms answer
# the care team (write) and the supervisors of one (read, 403 on a write), like figures.
# fmt: off
EXPECTED.update({
    ("GET", "/api/v1/instruments"):
        row(200, 200, 200, 200, 200, 200, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/measures"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/measures"):
        row(404, 201, 404, 404, 403, 404, 401),
    ("GET", "/api/v1/clients/<uuid:client_id>/measures/<uuid:measure_id>"):
        row(404, 200, 404, 404, 200, 404, 401),
    ("GET", "/clients/<uuid:client_id>/measures"):
        row(404, 200, 404, 404, 200, 404, 302),
    ("GET", "/clients/<uuid:client_id>/measures/new"):
        row(404, 200, 404, 404, 403, 404, 302),
    ("POST", "/clients/<uuid:client_id>/measures/new"):
        row(404, 302, 404, 404, 403, 404, 401),
    ("POST", "/api/v1/clients/<uuid:client_id>/measures/<uuid:measure_id>/void"):
        row(404, 200, 404, 404, 403, 404, 401),
    ("POST", "/clients/<uuid:client_id>/measures/<uuid:measure_id>/void"):
        row(404, 302, 404, 404, 403, 404, 401),
})
# fmt: on
