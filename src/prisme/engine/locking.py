"""The inter-process lock every backend uses for ``Engine.exclusive``: a file beside the
warehouse, held with ``flock`` (released by the kernel if the holder is killed)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from prisme.engine.base import EngineBusy


@contextlib.contextmanager
def file_lock(lock_path: Path, timeout_s: float, what: str) -> Iterator[None]:
    """Hold ``lock_path`` exclusively: a second holder waits up to ``timeout_s``, then is
    refused with a message naming ``what`` it was doing and the lock file."""
    fh = open(lock_path, "a+")
    deadline = time.monotonic() + float(timeout_s)
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.close()
                raise EngineBusy(
                    f"{what} is refused: another load holds {lock_path} "
                    f"(waited {timeout_s:.0f}s)"
                ) from None
            time.sleep(0.2)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
