"""Users, API tokens and login throttling, in the project's ``access.sqlite3``.

The store sits beside the audit log (:mod:`prisme.access.audit`), outside the warehouse, so a
login never waits for a load or a build. Passwords are hashed with argon2 (argon2-cffi);
API tokens are random 256-bit strings shown once and stored as their SHA-256 (a token has the
entropy a slow hash protects weak passwords with, and is checked on every API request).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from prisme.access import audit

ROLES = ("admin", "analyst", "manager", "advisor")
#: failed logins of one user name (or from one address) tolerated within the window
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    branch TEXT,
    advisor TEXT,
    personal_data INTEGER NOT NULL DEFAULT 0,  -- analyst granted the personal fields
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    locale TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,          -- unix time
    user_name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    ok INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_user ON login_attempts(user_name, at);
CREATE TABLE IF NOT EXISTS web_sessions (
    session_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    csrf TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""
#: a web session lasts this long after login
SESSION_S = 12 * 3600


class AccessError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    """Who is asking: a role and, for advisors and managers, the portfolio they may see."""

    name: str
    role: str
    branch: str | None = None
    advisor: str | None = None
    personal_data: bool = False
    disabled: bool = False
    locale: str | None = None

    @property
    def sees_personal_data(self) -> bool:
        """Names, e-mails, phones, addresses: masked for an analyst unless granted."""
        return self.role != "analyst" or self.personal_data


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def connect(root: Path) -> sqlite3.Connection:
    con = audit.connect(root)
    _ensure_schema(con)
    return con


def _ensure_schema(con: sqlite3.Connection) -> None:
    con.executescript(_SCHEMA)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def _row_user(row) -> User:
    name, role, branch, advisor, personal, disabled, locale = row
    return User(name, role, branch, advisor, bool(personal), bool(disabled), locale)


_COLS = "name, role, branch, advisor, personal_data, disabled, locale"


def add_user(root: Path, name: str, password: str, role: str, *, branch: str | None = None,
             advisor: str | None = None, personal_data: bool = False,
             locale: str | None = None, replace: bool = False) -> User:
    """Create (or, with ``replace``, overwrite) a user. An advisor needs ``advisor`` (the name
    their customers carry in the ``advisor`` field), a manager needs ``branch``."""
    name = name.strip()
    if not name:
        raise AccessError("a user needs a name")
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if role == "advisor" and not advisor:
        raise AccessError("an advisor needs --advisor (the advisor name their customers carry)")
    if role == "manager" and not branch:
        raise AccessError("a manager needs --branch (the branch whose customers they see)")
    if len(password) < 8:
        raise AccessError("the password must have at least 8 characters")
    if locale not in (None, "en", "fr"):
        raise AccessError(f"unknown language {locale!r}; expected en or fr")
    con = connect(root)
    try:
        exists = con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
        if exists and not replace:
            raise AccessError(f"user {name!r} exists already")
        con.execute(
            "INSERT OR REPLACE INTO users (name, role, branch, advisor, personal_data, "
            "password_hash, disabled, locale, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (name, role, branch if role in ("manager", "advisor") else None,
             advisor if role == "advisor" else None, int(personal_data),
             _hasher().hash(password), locale, _now()),
        )
    finally:
        con.close()
    audit.record(root, "cli", "add_user", name, {"role": role, "branch": branch,
                                                 "advisor": advisor})
    return get_user(root, name)


def get_user(root: Path, name: str) -> User | None:
    con = connect(root)
    try:
        row = con.execute(f"SELECT {_COLS} FROM users WHERE name = ?", (name,)).fetchone()
    finally:
        con.close()
    return _row_user(row) if row else None


def list_users(root: Path) -> list[User]:
    con = connect(root)
    try:
        rows = con.execute(f"SELECT {_COLS} FROM users ORDER BY name").fetchall()
    finally:
        con.close()
    return [_row_user(r) for r in rows]


def disable_user(root: Path, name: str) -> None:
    """Disable a user: no login, and their API tokens stop working."""
    con = connect(root)
    try:
        cur = con.execute("UPDATE users SET disabled = 1 WHERE name = ?", (name,))
        if cur.rowcount == 0:
            raise AccessError(f"no user {name!r}")
        con.execute("UPDATE api_tokens SET revoked = 1 WHERE user_name = ?", (name,))
    finally:
        con.close()
    audit.record(root, "cli", "disable_user", name)


def set_locale(root: Path, name: str, locale: str | None) -> None:
    if locale not in (None, "en", "fr"):
        raise AccessError(f"unknown language {locale!r}; expected en or fr")
    con = connect(root)
    try:
        con.execute("UPDATE users SET locale = ? WHERE name = ?", (locale, name))
    finally:
        con.close()


def new_token(root: Path, name: str) -> str:
    """A new API token for ``name`` (shown once; only its SHA-256 is stored)."""
    user = get_user(root, name)
    if user is None:
        raise AccessError(f"no user {name!r}")
    if user.disabled:
        raise AccessError(f"user {name!r} is disabled")
    token = "prisme_" + secrets.token_urlsafe(32)
    con = connect(root)
    try:
        con.execute("INSERT INTO api_tokens (token_sha256, user_name, created_at) VALUES (?, ?, ?)",
                    (_sha(token), name, _now()))
    finally:
        con.close()
    audit.record(root, "cli", "new_token", name)
    return token


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(root: Path, token: str) -> User | None:
    """The enabled user holding this (unrevoked) token, or None."""
    row = audit.shared(root, _ensure_schema).execute(
        f"SELECT {', '.join('u.' + c.strip() for c in _COLS.split(','))} FROM api_tokens t "
        "JOIN users u ON u.name = t.user_name "
        "WHERE t.token_sha256 = ? AND t.revoked = 0 AND u.disabled = 0",
        (_sha(token),),
    ).fetchone()
    return _row_user(row) if row else None


class Throttled(Exception):
    """Too many failed logins: the message says when to try again."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s // 60 + 1} min")
        self.retry_after_s = retry_after_s


def authenticate(root: Path, name: str, password: str, address: str = "") -> User | None:
    """The user if the password is right (and the account enabled), else None.

    After :data:`MAX_FAILURES` failures for a user name, or from an address, within
    :data:`FAILURE_WINDOW_S`, every attempt is refused with :class:`Throttled` until the
    oldest failure leaves the window (the password is not even checked).
    """
    import time

    from argon2.exceptions import InvalidHashError, VerificationError

    now = time.time()
    con = connect(root)
    try:
        since = now - FAILURE_WINDOW_S
        fails = con.execute(
            "SELECT at FROM login_attempts WHERE ok = 0 AND at > ? AND (user_name = ? OR "
            "(address <> '' AND address = ?)) ORDER BY at DESC LIMIT ?",
            (since, name, address, MAX_FAILURES),
        ).fetchall()
        if len(fails) >= MAX_FAILURES:
            raise Throttled(int(fails[-1][0] + FAILURE_WINDOW_S - now))
        row = con.execute(f"SELECT {_COLS}, password_hash FROM users WHERE name = ?",
                          (name,)).fetchone()
        ok = False
        if row is not None and not row[5]:
            try:
                ok = _hasher().verify(row[-1], password)
            except (VerificationError, InvalidHashError):
                ok = False
        else:  # same work whether the user exists or not
            try:
                _hasher().verify(_DUMMY_HASH(), password)
            except (VerificationError, InvalidHashError):
                pass
        con.execute("INSERT INTO login_attempts (at, user_name, address, ok) VALUES (?, ?, ?, ?)",
                    (now, name, address, int(ok)))
    finally:
        con.close()
    audit.record(root, name, "login" if ok else "login_failed", "", {"address": address})
    return _row_user(row[:-1]) if ok else None


_dummy: list[str] = []


def _DUMMY_HASH() -> str:  # noqa: N802 - a lazily computed constant
    if not _dummy:
        _dummy.append(_hasher().hash(secrets.token_hex(8)))
    return _dummy[0]


def create_session(root: Path, name: str) -> tuple[str, str]:
    """A new web session for ``name``: (session id for the cookie, CSRF token for forms).
    Only the session id's SHA-256 is stored."""
    import time

    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    con = connect(root)
    try:
        con.execute("DELETE FROM web_sessions WHERE expires_at < ?", (time.time(),))
        con.execute("INSERT INTO web_sessions (session_sha256, user_name, csrf, expires_at) "
                    "VALUES (?, ?, ?, ?)", (_sha(sid), name, csrf, time.time() + SESSION_S))
    finally:
        con.close()
    return sid, csrf


def session_user(root: Path, sid: str) -> tuple[User, str] | None:
    """The enabled user of a live session and the session's CSRF token, or None."""
    import time

    row = audit.shared(root, _ensure_schema).execute(
        f"SELECT {', '.join('u.' + c.strip() for c in _COLS.split(','))}, s.csrf "
        "FROM web_sessions s JOIN users u ON u.name = s.user_name "
        "WHERE s.session_sha256 = ? AND s.expires_at > ? AND u.disabled = 0",
        (_sha(sid), time.time()),
    ).fetchone()
    return (_row_user(row[:-1]), row[-1]) if row else None


def end_session(root: Path, sid: str) -> None:
    con = connect(root)
    try:
        con.execute("DELETE FROM web_sessions WHERE session_sha256 = ?", (_sha(sid),))
    finally:
        con.close()
