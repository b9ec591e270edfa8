"""The Swagger UI assets, served from the swagger-ui-bundle package (no CDN)."""

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_static", __name__)


@bp.route("/api/docs/static/<path:filename>")
def asset(filename: str):
    """One file of the Swagger UI bundle."""
    return send_from_directory(swagger_ui_path, filename)
