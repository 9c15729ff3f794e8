"""The portal's sessions: who is signed in, held on the server, and the token every form carries.

The browser holds only a random session id, in a cookie that scripts cannot read (HttpOnly),
that is sent to this site alone (SameSite=Strict) and, when the portal is served over TLS, only
over TLS (Secure). The credential the environment issued stays in this process's memory, mapped
from that id, so it is never in a cookie, a URL or a page; a restart signs everyone out, which
fails closed. Each session has its own CSRF token, put in a hidden field of every form and
compared (in constant time) on every POST. Who may do what is not decided here: every page
passes the credential to the environment layer, which authorises afresh each time.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from threading import Lock

from fastapi import Request
from fastapi.responses import Response

COOKIE = "fivesafes_session"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """One signed-in person: the environment's credential for them and their form token."""

    credential: str
    person_id: str
    roles: tuple[str, ...]
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))


class Sessions:
    """Session ids to sessions, in memory (one server process)."""

    def __init__(self) -> None:
        self._held: dict[str, Session] = {}
        self._lock = Lock()

    def start(self, session: Session) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._held[sid] = session
        return sid

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            return self._held.get(sid)

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._held.pop(sid or "", None)


def sessions_of(request: Request) -> Sessions:
    held: Sessions = request.app.state.sessions
    return held


def current(request: Request) -> Session | None:
    """The signed-in session of this request, None without a cookie that names one."""
    return sessions_of(request).get(request.cookies.get(COOKIE))


def csrf_ok(session: Session, sent: str | None) -> bool:
    return sent is not None and secrets.compare_digest(session.csrf, sent)


def set_cookie(request: Request, response: Response, sid: str) -> None:
    secure = request.app.state.config.base_url.startswith("https://")
    response.set_cookie(COOKIE, sid, httponly=True, secure=secure, samesite="strict", path="/")


def clear_cookie(request: Request, response: Response) -> None:
    secure = request.app.state.config.base_url.startswith("https://")
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=secure, samesite="strict")
