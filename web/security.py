"""Security machinery of the whole web app, in one place: response headers, the shared rate limiter
and the client address behind a proxy.

Headers: every response gets a Content-Security-Policy without inline scripts, nosniff, a referrer
policy, a Permissions-Policy that turns off the browser features nothing here uses (camera,
microphone, location, ...) and, when configured (MOVE_HSTS), Strict-Transport-Security. The
`Server` header gunicorn would add is set in web/gunicorn_config.py. The public pages may be framed
as MOVE_FRAME_ANCESTORS allows; the staff workspace never (it also gets no-store, so a signed-in
page is never kept in a cache). Blueprints add no headers of their own.

Request bodies: JSON nested too deeply for the parser is refused as invalid JSON (400), not a crash.

Rate limits: one Flask-Limiter for the app (chat API, widget contact form, staff sign-in), its
counters in MOVE_RATE_LIMIT_STORAGE (memory:// or Redis, shared by all gunicorn workers).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

import settings

STAFF_PREFIX = "/staff"

# The staff pages: no scripts at all; inline styles only for the server-rendered SVG charts.
STAFF_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
             "frame-ancestors 'none'; base-uri 'none'")
# API responses are data, never a document: nothing may load or frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Browser features no page here uses, off for the pages and for anything they might frame.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen", "geolocation", "gyroscope",
    "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment", "picture-in-picture", "publickey-credentials-get",
    "screen-wake-lock", "serial", "usb", "xr-spatial-tracking", "browsing-topics"))


def page_csp(frame_ancestors: str) -> str:
    """The demo page and the widget's own assets: scripts and styles from this origin only."""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}")


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deeply for the parser ("[[[[...") is invalid JSON
    (a 400 from get_json) instead of a RecursionError (a 500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc


def defaults() -> dict:
    return {
        "FRAME_ANCESTORS": settings.FRAME_ANCESTORS,
        "HSTS": settings.HSTS,
        "CHAT_RATE_LIMIT_IP": settings.CHAT_RATE_LIMIT_IP,
        "CHAT_RATE_LIMIT_SESSION": settings.CHAT_RATE_LIMIT_SESSION,
        "RATELIMIT_STORAGE_URI": settings.RATE_LIMIT_STORAGE,
        "RATELIMIT_HEADERS_ENABLED": True,
        "PROXY_COUNT": settings.PROXY_COUNT,
    }


def init_security(app: Flask) -> Limiter:
    """Install the headers, the proxy fix and the app's one rate limiter (app.extensions["move_limiter"])."""
    for key, value in defaults().items():
        app.config.setdefault(key, value)
    app.json = BoundedJSONProvider(app)
    if app.config["PROXY_COUNT"] > 0:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    # If Redis goes away, count in each worker's memory until it is back rather than fail requests.
    limiter = Limiter(get_remote_address, app=app, default_limits=[], storage_uri=app.config["RATELIMIT_STORAGE_URI"],
                      headers_enabled=app.config["RATELIMIT_HEADERS_ENABLED"], in_memory_fallback_enabled=True)
    app.extensions["move_limiter"] = limiter
    app.after_request(security_headers)
    return limiter


def limiter(app: Flask) -> Limiter:
    """The app's shared limiter (web.create_app installs it before any blueprint needs it)."""
    return app.extensions["move_limiter"]


def limit_value(config_key: str):
    """A limit read from the config at request time; "off" (or empty) means no limit."""
    def value() -> str:
        raw = str(current_app.config.get(config_key) or "").strip()
        return "" if raw.lower() in ("", "off", "0") else raw
    return value


def limit_is_off(config_key: str):
    def exempt() -> bool:
        return limit_value(config_key)() == ""
    return exempt


def security_headers(response: Response) -> Response:
    cfg = current_app.config
    path = request.path
    headers = response.headers
    if path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/"):
        headers["Content-Security-Policy"] = STAFF_CSP
        headers["X-Frame-Options"] = "DENY"
        headers["Cache-Control"] = "no-store"
        headers["Referrer-Policy"] = "same-origin"
    elif path.startswith("/api/"):
        headers["Content-Security-Policy"] = API_CSP
        headers.setdefault("Referrer-Policy", "no-referrer")
    else:
        ancestors = " ".join(str(cfg["FRAME_ANCESTORS"]).split()) or "'none'"
        headers["Content-Security-Policy"] = page_csp(ancestors)
        if ancestors in ("'none'", "'self'"):  # the old header for old browsers, where it can say the same
            headers["X-Frame-Options"] = "DENY" if ancestors == "'none'" else "SAMEORIGIN"
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    if cfg["HSTS"]:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response
