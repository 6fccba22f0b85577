"""Publishing: readers see the last finished state of the warehouse, never a half-built one.

A writer (``prisme ingest``, ``prisme build``) holds the warehouse's exclusive lock and changes it
step by step; readers (``prisme status``, the web application, a notebook) must meanwhile see the
state the previous writer *published*, and the new one as a whole once it is published. The
files, beside the warehouse (``<project>/.published/`` for ``<project>/warehouse.duckdb``):

* ``warehouse.current.json`` — the pointer: ``{"version", "file", "what", "published_at",
  "seconds", "bytes"}``; replaced atomically (``os.replace``), so a reader reads the old pointer
  or the new one. ``version`` is the token :func:`prisme.engine.published_version` returns.
* ``warehouse-<version>.duckdb`` — the published copy (on a backend that copies; see
  ``Engine.publish``), written under a temporary name and renamed before the pointer moves.
* ``warehouse.unfinished.json`` — left by a unit of work that must be seen whole (a build)
  while it runs; a build killed part-way leaves it, and nothing is published until a build
  finishes (a load after it does not publish the half-built mix: readers keep the last build).
* ``warehouse.lock`` (beside the warehouse) — the writers' lock (``flock``), holding
  ``{"pid", "what", "since"}``; :func:`writer` reads it so that ``prisme status`` can say what
  runs since when.

Nothing here is specific to one database: the backends decide what a published state is
(a copy of the file for DuckDB; see ``Engine.publish``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

PUBLISHED_DIR = ".published"


def directory(warehouse: str | os.PathLike) -> Path:
    """The folder of the published states of the warehouse at path ``warehouse``."""
    return Path(warehouse).parent / PUBLISHED_DIR


def _stem(warehouse: str | os.PathLike) -> str:
    return Path(warehouse).stem


def pointer_path(warehouse) -> Path:
    return directory(warehouse) / f"{_stem(warehouse)}.current.json"


def unfinished_path(warehouse) -> Path:
    return directory(warehouse) / f"{_stem(warehouse)}.unfinished.json"


def lock_path(warehouse) -> Path:
    return Path(warehouse).with_suffix(".lock")


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def new_version() -> str:
    """A token that sorts by time and never repeats: ``20261202T101500123456-1a2b3c``."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it, and rename it over
    ``path``: a reader sees the old content or the new, never a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def current(warehouse) -> dict | None:
    """The pointer of the last published state, or None when nothing was published."""
    return _read_json(pointer_path(warehouse))


def unfinished(warehouse) -> dict | None:
    """The unit of work that started and did not finish (``{"what", "since", "pid"}``)."""
    return _read_json(unfinished_path(warehouse))


def mark_unfinished(warehouse, what: str) -> None:
    write_json_atomic(unfinished_path(warehouse),
                      {"what": what, "since": now_iso(), "pid": os.getpid()})


def clear_unfinished(warehouse) -> None:
    with contextlib.suppress(FileNotFoundError):
        unfinished_path(warehouse).unlink()


#: the last version read per pointer file, with the file's (inode, size, mtime): a server
#: asks at every request, and a stat costs a tenth of opening and parsing the file
_VERSIONS: dict[str, tuple[tuple, str]] = {}


def version(warehouse) -> str:
    """The published version's token; ``"unpublished"`` while nothing has been published."""
    path = pointer_path(warehouse)
    try:
        st = os.stat(path)
    except OSError:
        return "unpublished"
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    seen = _VERSIONS.get(str(path))
    if seen is not None and seen[0] == key:
        return seen[1]
    pointer = _read_json(path)
    v = str(pointer["version"]) if pointer and pointer.get("version") else "unpublished"
    _VERSIONS[str(path)] = (key, v)  # the pointer is replaced by a rename: a new inode
    return v


# ------------------------------------------------------------------------ the writers' lock
@contextlib.contextmanager
def file_lock(path: Path, what: str, timeout_s: float,
              busy: type[Exception] = RuntimeError) -> Iterator[None]:
    """An inter-process lock (``flock`` on ``path``): a second holder waits up to
    ``timeout_s``, then ``busy`` is raised naming who holds it. The file says who holds it
    (pid, what, since) for :func:`writer`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    deadline = time.monotonic() + float(timeout_s)
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.close()
                holder = writer(path)
                who = (f"{holder['what']} (pid {holder['pid']}, since {holder['since']})"
                       if holder else "another process")
                raise busy(
                    f"{what} is refused: {who} holds {path} "
                    f"(waited {timeout_s:.0f}s, [engine] lock_timeout_s)"
                ) from None
            time.sleep(0.2)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "what": what, "since": now_iso()}))
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def writer(path: Path) -> dict | None:
    """Who holds the writers' lock file ``path`` now (``{"pid", "what", "since"}``), or None
    when nobody does. Asks the lock itself (a stale file from a killed writer says nothing)."""
    if not path.exists():
        return None
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            text = fh.read().strip()
        else:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            return None
    try:
        data = json.loads(text)
    except ValueError:  # an older Prisme wrote the pid alone
        data = {"pid": text or "?", "what": "a load or a build", "since": "?"}
    return data if isinstance(data, dict) else None


# ----------------------------------------------------------------- the published copies
#: published files this process has open (a probe must not touch them: closing any
#: descriptor of a file drops this process's POSIX locks on it)
_HELD: dict[str, int] = {}


def hold(path: str) -> None:
    _HELD[path] = _HELD.get(path, 0) + 1


def release(path: str) -> None:
    n = _HELD.get(path, 0) - 1
    if n <= 0:
        _HELD.pop(path, None)
    else:
        _HELD[path] = n


def in_use(path: Path) -> bool:
    """Whether a process holds a lock on ``path`` (a reader's open database: DuckDB takes a
    shared ``fcntl`` lock on a file it opens read-only), or this process has it open."""
    if str(path) in _HELD:
        return True
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def remove_stale(warehouse, keep: str | None, *, grace_s: float = 0.0) -> list[Path]:
    """Delete the published copies other than ``keep`` that no reader holds (and older than
    ``grace_s`` seconds); returns what was deleted. A reader that read the old pointer and
    finds its file gone reads the pointer again (see the DuckDB backend)."""
    folder = directory(warehouse)
    if not folder.exists():
        return []
    removed = []
    prefix = f"{_stem(warehouse)}-"
    for file in sorted(folder.iterdir()):
        name = file.name
        if not name.startswith(prefix) or name == keep or name.startswith("."):
            continue
        base = file if not name.endswith(".wal") else file.with_name(name[:-4])
        if base.name == keep:
            continue
        with contextlib.suppress(FileNotFoundError):
            if grace_s and time.time() - file.stat().st_mtime < grace_s:
                continue
            if in_use(base):
                continue
            file.unlink()
            removed.append(file)
    # temporary copies of a writer killed while copying
    for file in folder.glob(f".{prefix}*.tmp"):
        holder = file.name.rsplit(".", 2)[-2] if file.name.count(".") >= 2 else ""
        if holder.isdigit() and _alive(int(holder)):
            continue
        with contextlib.suppress(FileNotFoundError):
            file.unlink()
            removed.append(file)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
