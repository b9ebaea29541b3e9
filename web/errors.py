"""Every error under /api is JSON with a clear message: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra):
    return jsonify({"error": {"code": code, "message": message}, **extra}), status


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not request.path.startswith("/api/"):
            return exc
        if exc.code == 413:  # MAX_CONTENT_LENGTH: refused before the body is read
            limit_kb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024
            return error_response(413, "request_too_large", f"The request is too large: at most {limit_kb} kB are accepted.")
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(exc.code or 500, code, exc.description or exc.name)
        kept = dict(exc.get_headers())
        for name in ("Retry-After", "Allow"):  # keep what tells the client when / how to try again
            if name in kept:
                response[0].headers[name] = kept[name]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return error_response(500, "internal_error", "Something went wrong on our side. Please try again.")
        return "Internal server error", 500
