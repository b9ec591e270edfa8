"""The API documentation page: Swagger UI, vendored (no CDN), started by a script file so
the page runs under a CSP without 'unsafe-inline' (practice.http.DOCS_CSP)."""

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

SWAGGER_UI = "swagger-ui-5.35.0"  # swagger-ui-dist from npm, with its LICENSE and NOTICE
ASSETS = Path(__file__).parent / "docs_static"
PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>practice API</title>
<link rel="icon" type="image/png" href="/api/docs/static/{SWAGGER_UI}/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/static/{SWAGGER_UI}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/static/{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="/api/docs/static/docs.js"></script>
</body>
</html>
"""

bp = Blueprint("docs_static", __name__)


@bp.route("/api/docs")
def page() -> Response:
    """The documentation page."""
    return Response(PAGE, mimetype="text/html")


@bp.route("/api/docs/static/<path:filename>")
def asset(filename: str):
    """One file of Swagger UI, or the page's start script."""
    return send_from_directory(ASSETS, filename, max_age=3600)
