"""The one engine layer: every warehouse, mart and analytics step reaches the data through here.

Warehouse logic is written once as Ibis expressions; this package turns configuration into an
Ibis backend (an embedded DuckDB file by default, Spark for scale-out) and supplies the few
primitives Ibis does not carry portably: transactions, an inter-process lock, bulk file readers
and a handful of "try" functions (parse a date or a number, or give NULL) whose names differ
between SQL dialects. **Nothing outside this package imports duckdb or pyspark.**
"""

from __future__ import annotations

from prisme.engine import functions
from prisme.engine.base import Engine, EngineBusy, EngineError

__all__ = ["Engine", "EngineBusy", "EngineError", "connect", "functions", "publication",
           "published_version"]


def connect(settings=None, *, path=None, read_only: bool = False) -> Engine:
    """Open the warehouse of a project.

    ``settings`` is a :class:`prisme.config.Settings`; ``path`` overrides the warehouse file
    (``":memory:"`` for a throw-away warehouse in tests). ``read_only=True`` opens the last
    *published* state (see :mod:`prisme.engine.publish`): it works while ``prisme ingest`` or
    ``prisme build`` writes in another process, and sees what that writer publishes only
    when it reconnects (``published_version`` tells when to).
    ``[engine] backend = "spark"`` opens the Spark warehouse (Parquet under
    ``[engine] warehouse_dir``; see :mod:`prisme.engine.spark_backend`).
    """
    from prisme.config import EngineSettings

    engine_settings = settings.engine if settings is not None else EngineSettings()
    backend = engine_settings.backend
    if backend == "duckdb":
        from prisme.engine.duckdb_backend import DuckDBEngine

        if path is None:
            path = settings.warehouse_path if settings is not None else ":memory:"
        return DuckDBEngine(str(path), engine_settings, read_only=read_only)
    if backend == "spark":
        from prisme.engine.spark_backend import SparkEngine

        if path is None:  # a directory of Parquet parts and a manifest (see spark_backend)
            path = settings.warehouse_path if settings is not None else ":memory:"
        return SparkEngine(str(path), engine_settings, read_only=read_only)
    raise EngineError(f"unknown engine backend {backend!r}")


def published_version(settings) -> str:
    """A token that changes each time a writer publishes a new state of the project's
    warehouse (``"unpublished"`` before the first): a server compares it with the one it
    opened (``engine.published["version"]``) to know when to reconnect."""
    from prisme.engine import publish

    return publish.version(settings.warehouse_path)


def publication(settings) -> dict:
    """What readers see and what writes, for ``prisme status``: ``published`` (the pointer:
    version, what, published_at, seconds, bytes — or None), ``writer`` (pid, what, since of
    the process holding the warehouse now, or None) and ``unfinished`` (a build that started
    and did not finish, or None)."""
    from prisme.engine import publish

    path = settings.warehouse_path
    return {
        "published": publish.current(path),
        "writer": publish.writer(publish.lock_path(path)),
        "unfinished": publish.unfinished(path),
    }
