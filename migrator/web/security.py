"""What protects the pages: a session cookie that scripts cannot read and other sites do not send
(HttpOnly, SameSite=Lax, Secure behind https), CSRF tokens on every form (Flask-WTF), security
headers on every response, and a limit on failed logins per user and address."""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from datetime import timedelta

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()

# No inline script or style anywhere: pages load /static/ui.css and /static/*.js only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
# Swagger UI (the API's docs page) sets styles from its script.
CSP_DOCS = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin",
           "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}

TRUE = ("1", "true", "yes", "on")


def behind_https(app: Flask) -> bool:
    """The HTTPS setting (create_app's config, else MIGRATOR_HTTPS): the service is reached by https."""
    value = app.config.get("HTTPS")
    if value is None:
        value = os.environ.get("MIGRATOR_HTTPS", "")
    return value is True or str(value).strip().lower() in TRUE


def init_app(app: Flask) -> None:
    secure = behind_https(app)
    app.config.setdefault("SESSION_COOKIE_NAME", "migrator_session")
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure)
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=12))
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 12 * 3600)
    app.config.setdefault("WTF_CSRF_SSL_STRICT", True)
    app.config.setdefault("LOGIN_MAX_FAILURES", 5)
    app.config.setdefault("LOGIN_WINDOW_SECONDS", 300)
    csrf.init_app(app)
    from migrator.api import bp as api_bp
    csrf.exempt(api_bp)          # the API takes bearer tokens, never cookies: no CSRF there
    app.extensions["migrator.login_limiter"] = LoginLimiter(app.config["LOGIN_MAX_FAILURES"],
                                                            app.config["LOGIN_WINDOW_SECONDS"])

    @app.after_request
    def _security_headers(response: Response) -> Response:
        docs = request.path.startswith("/api/v1/docs")
        response.headers.setdefault("Content-Security-Policy", CSP_DOCS if docs else CSP)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return render_template("error.html", title="Form expired or forged",
                               message="The form was refused: its security token is missing or too old. "
                                       "Go back, reload the page and send it again."), 400


class LoginLimiter:
    """Failed logins per (user name, client address) in a sliding window; in this process only.
    At `max_failures` within `window` seconds, that user from that address is refused until the
    oldest failure leaves the window (a correct password does not help meanwhile)."""

    MAX_KEYS = 10000

    def __init__(self, max_failures: int = 5, window: float = 300.0):
        self.max_failures, self.window = max_failures, window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(username: str, address: str | None) -> tuple[str, str]:
        return (username or "").strip().lower()[:64], address or "?"

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, key: tuple[str, str], now: float | None = None) -> int:
        """Seconds until this key may try again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            if not times:
                self._failures.pop(key, None)
            if len(times) < self.max_failures:
                return 0
            return max(1, int(times[0] + self.window - now) + 1)

    def failed(self, key: tuple[str, str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if key not in self._failures and len(self._failures) >= self.MAX_KEYS:
                self._prune(now)
            times = self._recent(key, now)
            times.append(now)
            while len(times) > self.max_failures:
                times.popleft()
            self._failures[key] = times

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        while len(self._failures) >= self.MAX_KEYS:      # still full: forget the oldest
            del self._failures[next(iter(self._failures))]
