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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock

from fastapi import Request
from fastapi.responses import Response

COOKIE = "fivesafes_session"
CSRF_FIELD = "csrf_token"
IDLE_SECONDS = 30 * 60
"""A session not used for this long is forgotten: a screen left signed in on a ward or in an
office does not stay so (the environment's own credential may last 12 hours or more)."""


@dataclass(frozen=True)
class Session:
    """One signed-in person: the environment's credential for them and their form token."""

    credential: str
    person_id: str
    roles: tuple[str, ...]
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))


class Sessions:
    """Session ids to sessions, in memory (one server process), each forgotten once idle."""

    def __init__(
        self, idle_seconds: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._held: dict[str, tuple[Session, float]] = {}
        self._lock = Lock()
        self._idle = idle_seconds
        self._clock = clock

    def start(self, session: Session) -> str:
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            for idle in [k for k, (_, seen) in self._held.items() if now - seen > self._idle]:
                del self._held[idle]
            self._held[sid] = (session, now)
        return sid

    def get(self, sid: str | None) -> Session | None:
        """The session ``sid`` names, its idle time started again; None if none or idle."""
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            found = self._held.get(sid)
            if found is None:
                return None
            if now - found[1] > self._idle:
                del self._held[sid]
                return None
            self._held[sid] = (found[0], now)
            return found[0]

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
