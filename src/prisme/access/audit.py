"""The audit log: who saw or exported what, and when (DESIGN §1, data protection officer).

Stored in ``access.sqlite3`` in the project folder (WAL mode), never in the warehouse, so that
writing it does not depend on a build being idle. Rows are appended; ``erase_subject`` is the
one exception (GDPR erasure removes the personal fields of the erased person's rows).
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

ACCESS_FILE = "access.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,            -- UTC, ISO 8601
    actor TEXT NOT NULL,         -- user name, or 'cli:<os user>'
    action TEXT NOT NULL,        -- e.g. 'view_customer', 'export', 'erase', 'login'
    subject TEXT NOT NULL DEFAULT '',  -- e.g. a party_id, a list id
    detail TEXT NOT NULL DEFAULT '{}'  -- JSON
)
"""


def access_path(root: Path) -> Path:
    """The access store of the project folder ``root``."""
    return Path(root) / ACCESS_FILE


def connect(root: Path) -> sqlite3.Connection:
    """Open (creating if needed) the project's access store."""
    con = sqlite3.connect(access_path(root), timeout=30, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(_SCHEMA)
    return con


_LOCAL = threading.local()
_KEYS: dict[str, str] = {}


class _GroupCommit:
    """Appends of a server's threads committed together: each caller queues its event and
    waits until a transaction holding it is committed; the first waiting caller writes
    every queued event in one transaction (one WAL sync for all of them) while the others
    queue behind it. Nothing is acknowledged before it is committed, so a crash loses no
    event whose request was answered; under load, 20 concurrent card views cost one commit
    instead of 20 one after the other."""

    def __init__(self) -> None:
        self.queue_lock = threading.Lock()  # guards pending / queued
        self.write_lock = threading.Lock()  # one writer at a time
        self.pending: list[tuple] = []
        self.queued = 0  # events queued so far (each caller's ticket)
        self.committed = 0  # events committed so far (tickets up to it are done)
        #: batches that failed to commit: (first ticket, last ticket, the error); each of
        #: their callers raises the error (the newest 1,000 failures are kept)
        self.failed: list[tuple[int, int, BaseException]] = []

    def append(self, root: Path, row: tuple) -> None:
        with self.queue_lock:
            self.queued += 1
            ticket = self.queued
            self.pending.append(row)
        with self.write_lock:
            if self.committed >= ticket:
                for first, last, exc in self.failed:
                    if first <= ticket <= last:
                        raise exc  # our event was in a batch that failed
                return  # a writer before us committed it
            with self.queue_lock:
                batch, self.pending = self.pending, []
                first, last = self.queued - len(batch) + 1, self.queued
            con = shared(root)
            try:
                con.execute("BEGIN IMMEDIATE")
                con.executemany(
                    "INSERT INTO audit_log (at, actor, action, subject, detail) "
                    "VALUES (?, ?, ?, ?, ?)", batch)
                con.execute("COMMIT")
            except BaseException as exc:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                self.failed = [*self.failed[-999:], (first, last, exc)]
                self.committed = last
                raise
            self.committed = last


_GROUPS: dict[str, _GroupCommit] = {}
_GROUPS_LOCK = threading.Lock()


def _group(root: Path) -> _GroupCommit:
    g = _GROUPS.get(str(root))
    if g is None:
        key = str(access_path(root).resolve())
        with _GROUPS_LOCK:
            g = _GROUPS.get(key)
            if g is None:
                g = _GROUPS[key] = _GroupCommit()
            _GROUPS[str(root)] = g
    return g


def shared(root: Path, setup=None) -> sqlite3.Connection:
    """This thread's connection to the access store of ``root``, opened once and kept: the
    per-request reads and appends of a server (a session check, an audit event) then cost one
    statement, not an open, a schema check and a close (which checkpoints the WAL) each.
    ``setup(con)`` runs once on a new connection (another module's schema)."""
    cons = getattr(_LOCAL, "cons", None)
    if cons is None:
        cons = _LOCAL.cons = {}
    path = access_path(root)
    key = _KEYS.get(str(root))
    if key is None:  # resolved once per root (a stat of every path part each time)
        key = _KEYS[str(root)] = str(path.resolve())
    con = cons.get(key)
    if con is not None and not path.exists():  # the store was deleted (a project removed)
        con.close()
        con = None
    if con is None:
        con = connect(root)
        cons[key] = con
    if setup is not None and setup not in cons.setdefault(("setup", key), set()):
        setup(con)
        cons[("setup", key)].add(setup)
    return con


def record(root: Path, actor: str, action: str, subject: str = "",
           detail: dict[str, Any] | None = None) -> None:
    """Append one event to the audit log, committed when this returns (the concurrent
    appends of a server are committed together: :class:`_GroupCommit`)."""
    at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    _group(root).append(root, (at, actor, action, subject,
                               json.dumps(detail or {}, ensure_ascii=False, default=str)))


def events(root: Path, *, actor: str | None = None, action: str | None = None,
           subject: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """The most recent events first, optionally filtered."""
    where, params = [], []
    for col, val in (("actor", actor), ("action", action), ("subject", subject)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    sql = "SELECT id, at, actor, action, subject, detail FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    con = connect(root)
    try:
        rows = con.execute(sql, (*params, int(limit))).fetchall()
    finally:
        con.close()
    return [
        {"id": i, "at": at, "actor": a, "action": act, "subject": s, "detail": json.loads(d)}
        for i, at, a, act, s, d in rows
    ]


def erase_subject(root: Path, subject: str, replacement: str = "erased") -> int:
    """Blank the personal fields of the events about ``subject`` (GDPR erasure); returns how
    many rows were changed. The events themselves stay (who looked, when)."""
    con = connect(root)
    try:
        cur = con.execute(
            "UPDATE audit_log SET subject = ?, detail = '{}' WHERE subject = ?",
            (replacement, subject),
        )
        con.execute("VACUUM")
        return cur.rowcount
    finally:
        con.close()
