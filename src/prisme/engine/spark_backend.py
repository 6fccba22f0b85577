"""The Spark backend (scale-out): the same warehouse as Parquet files and a commit journal.

Layout of ``[engine] warehouse_dir`` (default ``<project>/spark-warehouse``)::

    _prisme_manifest.json      the committed state: every table's schema and its parts, views
    data/<table>/<part>/       Parquet files, one directory per write (never rewritten)

**Atomic, non-volatile writes without Delta or Iceberg.** Every write (a load's facts, its
``load_batches`` row, a rebuilt mart) goes to a *new* part directory; nothing existing is
modified. A part becomes visible only when the manifest naming it is committed, by writing the
new manifest to a temporary file and renaming it over the old one (``os.replace``: atomic on
POSIX). Inside :meth:`SparkEngine.transaction` the manifest changes are kept in memory and
committed at once on success, so a load's facts, its quarantine rows and its ``load_batches``
row ("loaded") appear together, and a build's marts are swapped in together. A failure rolls
the in-memory manifest back; a killed process never writes it: in both cases the parts it
wrote are orphan files that no reader lists (they are deleted by the next rollback or
``vacuum``). Readers open the last committed manifest — a reader in another process sees the
last published state while a load or a build runs.

Each open engine has its own Spark session (``newSession()``: its own temporary views and SQL
settings) on the one SparkContext of the process, created on first use with the Splink
similarity jar from the installed splink wheel on its class path (nothing downloaded).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import shutil
import sys
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from prisme.engine import publish as _pub
from prisme.engine.base import Engine, EngineBusy, EngineError, LineLayout, register, visible


def _fix_strip_on_spark() -> None:
    """Ibis 12 compiles ``strip()`` to ``TRIM(' \\t\\n\\r\\v\\f' FROM x)``; Spark SQL reads
    ``\\v`` and ``\\f`` in a literal as the letters v and f, so ``'F'.strip()`` became ''
    (every value starting or ending with v/f lost those letters). Strip white space with a
    regular expression instead (same result as DuckDB's and Python's strip)."""
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    def regex(pattern):
        def visit(self, op, *, arg):
            return self.f.regexp_replace(arg, sge.convert(pattern), sge.convert(""))
        return visit

    PySparkCompiler.visit_Strip = regex(r"^\s+|\s+$")
    PySparkCompiler.visit_LStrip = regex(r"^\s+")
    PySparkCompiler.visit_RStrip = regex(r"\s+$")


_fix_strip_on_spark()

MANIFEST = "_prisme_manifest.json"
#: a table with more parts than this is compacted into one part at its next write
MAX_PARTS = 24

_SESSION_LOCK = threading.Lock()
_SESSION = None
#: writer locks held by this process, by warehouse directory: (file, open engines)
_WRITERS: dict[str, list] = {}


def similarity_jar() -> str:
    """The Scala similarity functions Splink ships in its wheel, for Spark 4."""
    import splink

    jar = (Path(splink.__file__).parent / "internals" / "files" / "spark_jars"
           / "scala-udf-similarity-0.2.1_spark4.x.jar")
    if not jar.exists():
        raise EngineError(f"Splink's similarity jar is missing from the splink wheel: {jar}")
    return str(jar)


def spark_session(settings=None):
    """The process's SparkSession, created on first use (one per process: a JVM is costly).

    Local mode by default (``[engine] master``), no UI, a low number of shuffle partitions, an
    in-memory catalog (Prisme keeps its own, the manifest) and Splink's jar on the class path.
    Later calls return the same session whatever their settings."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is not None and not _SESSION.sparkContext._jsc.sc().isStopped():
            return _SESSION
        from pyspark.sql import SparkSession

        from prisme.config import EngineSettings

        s = settings or EngineSettings()
        # Python UDF workers run this interpreter (its virtualenv: pyarrow, phonenumbers…)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        scratch = Path(tempfile.gettempdir()) / f"prisme-spark-{os.getpid()}"
        builder = (
            SparkSession.builder.master(s.master)
            .appName("prisme")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(int(s.shuffle_partitions)))
            .config("spark.default.parallelism", str(max(2, int(s.shuffle_partitions))))
            .config("spark.sql.catalogImplementation", "in-memory")
            .config("spark.sql.warehouse.dir", str(scratch / "catalog"))
            .config("spark.local.dir", str(scratch / "local"))
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch / 'derby'}")
            .config("spark.driver.memory", s.driver_memory)
            .config("spark.jars", similarity_jar())
            .config("spark.pyspark.python", sys.executable)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
            .config("spark.sql.adaptive.enabled", os.environ.get("PRISME_SPARK_AQE", "true"))
            .config("spark.sql.codegen.wholeStage", str(bool(s.spark_codegen)).lower())
            .config("spark.sql.legacy.timeParserPolicy", "CORRECTED")
        )
        for item in filter(None, os.environ.get("PRISME_SPARK_CONF", "").split(",")):
            key, _, value = item.partition("=")  # extra settings: k=v,k=v (benches, tuning)
            builder = builder.config(key.strip(), value.strip())
        _SESSION = builder.getOrCreate()
        _SESSION.sparkContext.setLogLevel("ERROR")
        return _SESSION


class SparkEngine(Engine):
    name = "spark"

    def __init__(self, path: str, settings, *, read_only: bool = False) -> None:
        self.settings = settings
        self.read_only = read_only
        self._scratch = Path(tempfile.mkdtemp(prefix="prisme-spark-"))
        self.path = str(path)
        self.root = self._scratch / "warehouse" if self.path == ":memory:" else Path(path)
        self._writer = None
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)
            self._writer = _hold_writer(self.root)
        self.session = spark_session(settings).newSession()
        self._conf()
        self.con = ibis.pyspark.connect(self.session)
        self.raw = self.session  # the SparkSession, for this module only
        self._manifest = self._open_published() if read_only else self._read_manifest()
        self._stamp = self._manifest_stamp()
        self._in_txn = False
        self._written: list[Path] = []  # parts written by the open transaction
        self._temp: dict[str, dict] = {}
        self._temp_views: set[str] = set()
        self._register_all()
        register(self)

    def _conf(self) -> None:
        conf = self.session.conf
        conf.set("spark.sql.shuffle.partitions", str(int(self.settings.shuffle_partitions)))
        conf.set("spark.sql.session.timeZone", "UTC")
        # NULL rather than an error for an impossible cast or a missing map key, as Ibis'
        # other backends do (Spark 4 turns ANSI mode on by default)
        conf.set("spark.sql.ansi.enabled", "false")
        conf.set("spark.sql.legacy.timeParserPolicy", "CORRECTED")
        # to_json writes a NULL field as null, as DuckDB does (Dialect.to_json)
        conf.set("spark.sql.jsonGenerator.ignoreNullFields", "false")
        # the functions Prisme's expressions name that Spark lacks (see engine.functions)
        accented, plain = _accent_table()
        self.session.sql(
            "CREATE OR REPLACE TEMPORARY FUNCTION strip_accents(s STRING) RETURNS STRING "
            f"RETURN translate(s, {_lit(accented)}, {_lit(plain)})"
        )
        _register_similarity(self.session)

    # -------------------------------------------------------------- manifest
    @property
    def _manifest_path(self) -> Path:
        return self.root / MANIFEST

    def _read_manifest(self) -> dict:
        try:
            return json.loads(self._manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": 0, "tables": {}, "views": {}}

    def _open_published(self) -> dict:
        """A reader's state: the last *published* manifest (see :mod:`prisme.engine.publish`),
        or the last committed one when nothing was published yet."""
        pointer = _pub.current(self.root)
        if pointer and pointer.get("file"):
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                state = json.loads((_pub.directory(self.root) / pointer["file"])
                                   .read_text(encoding="utf-8"))
                self.published = pointer
                return state
        return self._read_manifest()

    def _manifest_stamp(self):
        try:
            st = self._manifest_path.stat()
            return (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            return None

    def _refresh(self) -> None:
        """Pick up what another engine of this process committed since (outside a
        transaction only: a transaction works on the state it started from)."""
        if self._in_txn or self.read_only:
            return
        stamp = self._manifest_stamp()
        if stamp != self._stamp:
            self._manifest = self._read_manifest()
            self._stamp = stamp
            self._register_all()

    def _commit(self) -> None:
        """Publish the manifest: write it beside, then rename over the old one (atomic)."""
        if self._in_txn:
            return
        self._manifest["version"] = int(self._manifest.get("version", 0)) + 1
        tmp = self.root / f".{MANIFEST}.{uuid.uuid4().hex}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self._manifest, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._manifest_path)
        self._stamp = self._manifest_stamp()
        self._written = []

    def _writable(self) -> None:
        if self.read_only:
            raise EngineError(f"the warehouse {self.root} is open read-only")

    # ------------------------------------------------------------ registering
    def _spark_schema(self, schema: dict[str, str]):
        from ibis.backends.pyspark.datatypes import PySparkSchema

        return PySparkSchema.from_ibis(_schema_from(schema))

    def _frame_of(self, entry: dict, base: Path):
        parts = [str(base / p) for p in entry["parts"]]
        sschema = self._spark_schema(entry["schema"])
        if not parts:
            return self.session.createDataFrame([], sschema)
        return self.session.read.schema(sschema).parquet(*parts)

    def _register(self, name: str) -> None:
        if name in self._temp:
            self._frame_of(self._temp[name], self._scratch).createOrReplaceTempView(name)
            return
        entry = self._manifest["tables"].get(name)
        if entry is not None:
            self._frame_of(entry, self.root).createOrReplaceTempView(name)

    def _register_all(self) -> None:
        for name in self._manifest["tables"]:
            self._register(name)
        for name, sql in self._manifest["views"].items():
            self.session.sql(f"CREATE OR REPLACE TEMP VIEW {_q(name)} AS {sql}")

    # ----------------------------------------------------------------- writes
    def _frame(self, obj):
        """A Spark DataFrame for an Ibis expression, a pandas frame or an Arrow table."""
        if isinstance(obj, pd.DataFrame):
            obj = _plain_text(obj)
        if not isinstance(obj, ir.Expr):
            obj = ibis.memtable(obj)
        obj = _plain_text_memtables(obj)
        self.con._run_pre_execute_hooks(obj)  # memtables and Python UDFs, in this session
        return self.session.sql(self.con.compile(obj))

    def _write_part(self, df, schema: dict[str, str], base: Path, table: str) -> str:
        """Write ``df`` (cast to ``schema``) to a new part directory; its path under base."""

        out = self._conform(df, schema, table)
        rel = f"data/{_safe(table)}/{uuid.uuid4().hex}"
        target = base / rel
        out.write.mode("errorifexists").parquet(str(target))
        if base == self.root:
            self._written.append(target)
        return rel

    def create_table(self, name: str, obj=None, *, schema: ibis.Schema | None = None,
                     overwrite: bool = False, temp: bool = False) -> ir.Table:
        self._refresh()
        exists = name in self._temp or name in self._manifest["tables"] \
            or name in self._manifest["views"]
        if exists and not overwrite:
            raise EngineError(f"the table {name} exists already")
        df = None
        if obj is not None:
            if not isinstance(obj, ir.Expr):  # a pandas frame or an Arrow table
                obj = ibis.memtable(obj)
            df = self._frame(obj)
            if schema is None:
                schema = obj.schema()
        if schema is None:
            raise EngineError(f"create_table {name}: give an expression or a schema")
        stored = _schema_to(ibis.schema(schema))
        base = self._scratch if temp else self.root
        parts = [self._write_part(df, stored, base, name)] if df is not None else []
        entry = {"schema": stored, "parts": parts}
        if temp:
            self._temp[name] = entry
        else:
            self._writable()
            self._manifest["views"].pop(name, None)
            self._manifest["tables"][name] = entry
            self._commit()
        self._register(name)
        return self.con.table(name)

    def insert(self, name: str, obj) -> None:
        self._refresh()
        temp = name in self._temp
        entry = self._temp.get(name) or self._manifest["tables"].get(name)
        if entry is None:
            raise EngineError(f"no table {name} to insert into")
        if not temp:
            self._writable()
        base = self._scratch if temp else self.root
        df = self._frame(obj)
        if len(entry["parts"]) >= MAX_PARTS:  # compact: the old rows and the new in one part
            df = self._frame_of(entry, base).unionByName(
                self._conform(df, entry["schema"], name))
            new = {"schema": entry["schema"],
                   "parts": [self._write_part(df, entry["schema"], base, name)]}
        else:
            new = {"schema": entry["schema"],
                   "parts": [*entry["parts"], self._write_part(df, entry["schema"], base, name)]}
        if temp:
            self._temp[name] = new
        else:
            self._manifest["tables"][name] = new
            self._commit()
        self._register(name)

    def _conform(self, df, schema: dict[str, str], table: str):
        """``df`` with the table's columns, in its order and types: by name (a column the
        rows lack is NULL), or by position when the names differ (as ``INSERT`` does)."""
        sschema = self._spark_schema(schema)
        have = df.columns
        cols = set(have)
        names = [f.name for f in sschema.fields]
        if cols <= set(names):
            picked = [_bq(n) if n in cols else "NULL" for n in names]
        elif len(have) == len(names):
            picked = [_bq(c) for c in have]
        else:
            raise EngineError(f"cannot write columns {have} to {table} "
                              f"(expected {names})")
        pairs = list(zip(picked, sschema.fields, strict=True))
        if all(_sql_type_safe(f.dataType) for f in sschema.fields):
            # one SQL projection (one call into the JVM), not three per column (a load's
            # tables have dozens of columns and a load writes several tables)
            return df.selectExpr(*[f"CAST({c} AS {f.dataType.simpleString()}) AS {_bq(f.name)}"
                                   for c, f in pairs])
        from pyspark.sql import functions as F  # structs: their field names, unquoted there

        return df.select([(F.expr(c) if c == "NULL" else F.col(c)).cast(f.dataType)
                          .alias(f.name) for c, f in pairs])

    def create_view(self, name: str, expr: ir.Table, *, overwrite: bool = True) -> ir.Table:
        """A view of this session (a scratch stage of a load; not published)."""
        self.con._run_pre_execute_hooks(expr)
        kw = "CREATE OR REPLACE TEMP VIEW" if overwrite else "CREATE TEMP VIEW"
        self.session.sql(f"{kw} {_q(name)} AS {self.con.compile(expr)}")
        self._temp_views.add(name)
        return self.con.table(name)

    def ensure_relations(self, tables: dict[str, ibis.Schema],
                         views: dict[str, ir.Table]) -> None:
        """The missing tables (empty) and views (published in the manifest) in one commit."""
        self._refresh()
        have = set(self._manifest["tables"]) | set(self._manifest["views"])
        missing_t = {n: s for n, s in tables.items() if n not in have}
        missing_v = {n: e for n, e in views.items() if n not in have}
        if not missing_t and not missing_v:
            return
        self._writable()
        for name, schema in missing_t.items():
            self._manifest["tables"][name] = {"schema": _schema_to(schema), "parts": []}
            self._register(name)
        for name, expr in missing_v.items():
            sql = ibis.to_sql(expr, dialect="pyspark")
            self._manifest["views"][name] = sql
            self.session.sql(f"CREATE OR REPLACE TEMP VIEW {_q(name)} AS {sql}")
        self._commit()

    def drop_table(self, name: str, *, force: bool = True) -> None:
        self._refresh()
        if name in self._temp:
            entry = self._temp.pop(name)
            for p in entry["parts"]:
                shutil.rmtree(self._scratch / p, ignore_errors=True)
        elif name in self._manifest["tables"]:
            self._writable()
            del self._manifest["tables"][name]
            self._commit()
        elif not force:
            raise EngineError(f"no table {name}")
        self.session.catalog.dropTempView(name)

    def drop_view(self, name: str, *, force: bool = True) -> None:
        self._refresh()
        if name in self._manifest["views"]:
            self._writable()
            del self._manifest["views"][name]
            self._commit()
        elif name not in self._temp_views and not force:
            raise EngineError(f"no view {name}")
        self._temp_views.discard(name)
        self.session.catalog.dropTempView(name)

    def rename_table(self, old: str, new: str) -> None:
        """A manifest edit: inside a transaction, the swap is published with the rest."""
        self._refresh()
        self._writable()
        tables = self._manifest["tables"]
        if old not in tables:
            raise EngineError(f"no table {old} to rename")
        tables[new] = tables.pop(old)
        self._manifest["views"].pop(new, None)
        self._commit()
        self.session.catalog.dropTempView(old)
        self._register(new)

    def list_tables(self, *, staging: bool = False) -> list[str]:
        """Tables and views; a writer's staging tables only with ``staging``."""
        self._refresh()
        return visible(sorted(set(self._manifest["tables"]) | set(self._manifest["views"])
                              | set(self._temp) | self._temp_views), staging)

    def list_views(self, *, staging: bool = False) -> list[str]:
        """The views among :meth:`list_tables` (an erasure rewrites tables, never views)."""
        self._refresh()
        return visible(sorted(set(self._manifest["views"]) | self._temp_views), staging)

    def table(self, name: str) -> ir.Table:
        self._refresh()
        if name not in self.list_tables(staging=True):
            raise EngineError(f"the warehouse {self.root} has no table {name}")
        return self.con.table(name)

    def bound_table(self, name: str, schema: ibis.Schema) -> ir.Table:
        """The table bound with the schema the caller created it with (no round trip)."""
        import ibis.expr.operations as ops

        self._refresh()
        return ops.DatabaseTable(name, schema=ibis.schema(schema), source=self.con,
                                 namespace=ops.Namespace(catalog=None, database=None)).to_expr()

    # ----------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: the manifest changes of the block are published at once at the end;
        a failure restores the state the block started from and deletes what it wrote."""
        if self._in_txn:  # nested: part of the outer transaction
            yield
            return
        self._refresh()
        before = copy.deepcopy(self._manifest)
        self._in_txn = True
        self._written = []
        try:
            yield
        except BaseException:
            self._in_txn = False
            self._manifest = before
            for part in self._written:
                shutil.rmtree(part, ignore_errors=True)
            self._written = []
            for name in list(self.session.catalog.listTables()):
                if name.isTemporary and name.name not in self._temp \
                        and name.name not in self._temp_views:
                    self.session.catalog.dropTempView(name.name)
            self._register_all()
            raise
        else:
            self._in_txn = False
            self._commit()

    def exclusive(self, what: str = "a load") -> contextlib.AbstractContextManager[None]:
        """The inter-process lock beside the warehouse directory (as on DuckDB)."""
        if self.path == ":memory:":
            return contextlib.nullcontext()
        return _pub.file_lock(self.lock_path, what, float(self.settings.lock_timeout_s),
                              busy=EngineBusy)

    @property
    def lock_path(self) -> Path:
        """The file :meth:`exclusive` locks (beside the warehouse directory, as on DuckDB)."""
        return _pub.lock_path(self.root)

    def _publish_state(self, warehouse: Path, version: str) -> dict:
        """A published state is a copy of the committed manifest (a few kilobytes): the parts
        it names are never rewritten, so readers of that copy see exactly that state, however
        the writer goes on. ``.published/<stem>-<version>.json``, written then renamed."""
        folder = _pub.directory(warehouse)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{warehouse.name}-{version}.json"
        _pub.write_json_atomic(folder / name, self._read_manifest())
        return {"file": name, "bytes": (folder / name).stat().st_size}

    def vacuum(self) -> int:
        """Delete part directories no committed manifest names (what failed or killed loads
        left behind); only under :meth:`exclusive`. Returns how many were removed."""
        self._writable()
        named = {str(self.root / p) for e in self._manifest["tables"].values()
                 for p in e["parts"]}
        removed = 0
        data = self.root / "data"
        for part in data.glob("*/*") if data.exists() else []:
            if str(part) not in named:
                shutil.rmtree(part, ignore_errors=True)
                removed += 1
        return removed

    # ---------------------------------------------------------------- results
    def to_pandas(self, expr: ir.Expr) -> pd.DataFrame:
        """The whole result, with the same pandas types as the DuckDB engine gives: a DATE
        column holds ``datetime.date`` values (None when empty), not Timestamps."""
        if not isinstance(expr, ir.Table):
            return self.con.to_pyarrow(expr).to_pandas()
        df = self.con.execute(expr.as_table())
        for name, typ in expr.schema().items():
            if typ.is_date() and name in df.columns \
                    and pd.api.types.is_datetime64_any_dtype(df[name]):
                col = df[name]
                df[name] = pd.Series([None if pd.isna(v) else v.date() for v in col],
                                     index=col.index, dtype=object)
        return df

    # ---------------------------------------------------------------- readers
    def read_csv(self, paths: Sequence[str], **options: Any) -> ir.Table:
        """Spark's own CSV reader (every column as text unless told)."""
        df = self.session.read.options(header="true", **{k: str(v) for k, v in options.items()})\
            .csv([str(p) for p in paths])
        name = f"_prisme_csv_{uuid.uuid4().hex[:12]}"
        df.createOrReplaceTempView(name)
        self._temp_views.add(name)
        return self.con.table(name)

    def read_parquet(self, paths: Sequence[str]) -> ir.Table:
        df = self.session.read.parquet(*[str(p) for p in paths])
        name = f"_prisme_parquet_{uuid.uuid4().hex[:12]}"
        df.createOrReplaceTempView(name)
        self._temp_views.add(name)
        return self.con.table(name)

    def read_csv_text(self, path: str, table: str, *,
                      layout: LineLayout | Callable[[], LineLayout] | None = None,
                      **options: Any) -> tuple[int, list[dict]]:
        """Spark's CSV reader numbers neither records nor lines, and a row's physical line
        (``__line``) is part of every quarantine record: this backend has no bulk reader
        that gives it, and says so; the ingest layer then reads the file line by line
        (Python's csv module, exact line numbers) into a table of this engine."""
        raise EngineError(f"{path}: the Spark backend reads CSV files line by line "
                          "(no bulk reader with physical line numbers)")

    def define_lookup(self, name: str, mapping: dict[str, str]) -> None:
        """``name(key)``: a temporary SQL function of this session over a map literal."""
        keys = ", ".join(_lit(k) for k in mapping)
        values = ", ".join(_lit(v) for v in mapping.values())
        self.session.sql(
            f"CREATE OR REPLACE TEMPORARY FUNCTION {_q(name)}(x STRING) RETURNS STRING "
            f"RETURN try_element_at(map_from_arrays(array({keys}), array({values})), x)"
        )

    def drop_raw(self, table: str) -> None:
        for name in (table, f"{table}__data"):
            if name in self._temp:
                self.drop_table(name)
            elif name in self._temp_views:
                self.drop_view(name)

    def splink_api(self):
        """A Splink ``SparkAPI`` on this engine's session (the similarity jar is loaded);
        the pandas frames it is given become tables whose rows are read by Spark's tasks
        (see :func:`_splink_api_class`)."""
        # Splink keeps its intermediate tables (pairs, comparison vectors) persisted
        # (memory, then the executors' disks): its default writes them as Parquet under a
        # checkpoint directory, which cannot store a column that is NULL throughout (VOID)
        api = _splink_api_class()(spark_session=self.session, break_lineage_method="persist")
        _register_similarity(self.session)  # over the jar's jaro_winkler / jaro_sim
        return api

    def sql(self, query: str) -> ir.Table:
        return self.con.sql(query, dialect="spark")

    def close(self) -> None:
        """Forget this engine's views and scratch files; the shared session stays up."""
        with contextlib.suppress(Exception):
            for t in self.session.catalog.listTables():
                if t.isTemporary:
                    self.session.catalog.dropTempView(t.name)
        shutil.rmtree(self._scratch, ignore_errors=True)
        if self._writer is not None:
            _release_writer(self.root)
            self._writer = None


#: Spark turns a pandas frame under this many bytes of Arrow data into a *local relation*
#: (``spark.sql.execution.arrow.localRelationThreshold``, 48 MB by default)
_LOCAL_RELATION_THRESHOLD = "spark.sql.execution.arrow.localRelationThreshold"


@contextlib.contextmanager
def _rows_in_tasks(session) -> Iterator[None]:
    """Pandas frames made into DataFrames in this block are read by Spark's tasks (an RDD of
    Arrow batches), never kept as a local relation in the query plans."""
    conf = session.conf
    before = conf.get(_LOCAL_RELATION_THRESHOLD)
    conf.set(_LOCAL_RELATION_THRESHOLD, "0")
    try:
        yield
    finally:
        conf.set(_LOCAL_RELATION_THRESHOLD, before)


@functools.cache
def _splink_api_class():
    """Splink's ``SparkAPI`` with one change: a pandas frame registered as Splink's input
    becomes a table scanned by tasks, not a local relation.

    Below 48 MB of Arrow data (the 165k records of the 100k-customer demo company are below)
    Spark keeps a pandas frame *in the plan* as a local relation, and its optimizer evaluates
    the projections and filters over it on the driver (``ConvertToLocalRelation``), each into
    a new copy of all the rows as boxed Java objects, which the plans of the tables Splink
    caches keep alive. Splink runs many queries over its input (EM, the 19 joins of the
    blocked pairs, each projecting its own columns): Spark local at 100k ran out of an 8g heap
    in identity holding these copies (bench/RESULTS.md). As an RDD of Arrow batches the rows
    are read by the tasks, like a table's, and no plan holds them."""
    from splink.backends.spark import SparkAPI

    class PrismeSparkAPI(SparkAPI):
        def register(self, table, **kwargs):
            if isinstance(table, pd.DataFrame):
                with _rows_in_tasks(self.spark):
                    return super().register(table, **kwargs)
            return super().register(table, **kwargs)

    return PrismeSparkAPI


def _hold_writer(root: Path):
    """One writing process per warehouse (as DuckDB's file lock): a second process is told
    the warehouse is busy; engines of the same process share the hold."""
    import fcntl

    key = str(root.resolve())
    if key in _WRITERS:
        _WRITERS[key][1] += 1
        return _WRITERS[key][0]
    fh = open(root / ".writer.lock", "a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise EngineBusy(
            f"the warehouse {root} is in use by another Prisme process (a load or a build); "
            "wait for it to finish and try again"
        ) from None
    _WRITERS[key] = [fh, 1]
    return fh


def _release_writer(root: Path) -> None:
    import fcntl

    key = str(root.resolve())
    held = _WRITERS.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] <= 0:
        fcntl.flock(held[0].fileno(), fcntl.LOCK_UN)
        held[0].close()
        del _WRITERS[key]


# ------------------------------------------------------------------ string similarity
def jaro_similarity(a: str | None, b: str | None) -> float | None:
    """DuckDB's ``jaro_similarity``: Jaro on the UTF-8 bytes, the transpositions halved and
    rounded down, 0 when either string is empty.

    The Jaro of the jar inside the splink wheel does not round the transpositions down
    (``adele``/``elodie``: 0.697 there, 0.739 on DuckDB): 3.6 % of the name pairs of the demo
    company differed, enough to move pairs between comparison levels and change the model
    that identity learns on Spark. Spark runs this function instead (a pandas UDF)."""
    if a is None or b is None:
        return None
    from rapidfuzz.distance import Jaro

    x, y = a.encode(), b.encode()
    return Jaro.similarity(x, y) if x and y else 0.0


def jaro_winkler_similarity(a: str | None, b: str | None) -> float | None:
    """DuckDB's ``jaro_winkler_similarity`` to the last bit: the Jaro above, raised by the
    common prefix (at most 4 bytes, weight 0.1) when it is above 0.7 — in one rounding, as
    DuckDB's build computes ``j + prefix * 0.1 * (1 - j)`` (a fused multiply-add; a separate
    multiply and add differ by one unit in the last place on some pairs, enough to fall on
    the other side of a level's threshold)."""
    j = jaro_similarity(a, b)
    if j is None or j <= 0.7:
        return j
    x, y = a.encode()[:4], b.encode()[:4]
    prefix = 0
    while prefix < min(len(x), len(y)) and x[prefix] == y[prefix]:
        prefix += 1
    if not prefix:
        return j
    from fractions import Fraction

    return min(float(Fraction(prefix * 0.1) * Fraction(1.0 - j) + Fraction(j)), 1.0)


def damerau_levenshtein(a: str | None, b: str | None) -> float | None:
    """DuckDB's ``damerau_levenshtein``: the unrestricted Damerau-Levenshtein distance of the
    UTF-8 bytes. The jar's counts characters ('straße'/'adele': 5, DuckDB 6) and gives 100
    where a string is NULL (DuckDB NULL: a guard's "> 1" would hold on Spark only)."""
    if a is None or b is None:
        return None
    from rapidfuzz.distance import DamerauLevenshtein

    return float(DamerauLevenshtein.distance(a.encode(), b.encode()))


def _similarity_udf(fn):
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("double")
    def udf(a: pd.Series, b: pd.Series) -> pd.Series:
        return pd.Series([None if (x is None or y is None or x != x or y != y) else fn(x, y)
                          for x, y in zip(a, b, strict=True)], dtype="float64")

    return udf


@functools.cache
def _similarity_udfs() -> dict:
    return {"jaro_winkler": _similarity_udf(jaro_winkler_similarity),
            "jaro_sim": _similarity_udf(jaro_similarity),
            "damerau_levenshtein": _similarity_udf(damerau_levenshtein)}


def _register_similarity(session) -> None:
    """The similarity functions of the Spark dialect in this session, as DuckDB computes
    them: ``jaro_winkler``, ``jaro_sim`` and ``damerau_levenshtein`` over the jar's functions
    of the same names, which Splink's ``SparkAPI`` registers (so: again after it), and
    ``byte_levenshtein``."""
    # DuckDB's levenshtein counts edits of UTF-8 bytes, Spark's of characters: each byte as
    # one Latin-1 character makes Spark's count DuckDB's ('straße'/'adele': 6, not 5)
    byte = "decode(encode({}, 'UTF-8'), 'ISO-8859-1')"
    session.sql(
        "CREATE OR REPLACE TEMPORARY FUNCTION byte_levenshtein(a STRING, b STRING) "
        f"RETURNS INT RETURN levenshtein({byte.format('a')}, {byte.format('b')})")
    for name, udf in _similarity_udfs().items():
        session.udf.register(name, udf)


@functools.cache
def _accent_table() -> tuple[str, str]:
    """DuckDB's ``strip_accents`` as a ``translate``: every precomposed Latin letter whose
    canonical decomposition is one base letter and marks → that letter; the combining marks
    themselves → nothing (they come last, with no counterpart)."""
    accented, plain = [], []
    for code in range(0xC0, 0x250):
        c = chr(code)
        base = "".join(ch for ch in unicodedata.normalize("NFD", c)
                       if not unicodedata.combining(ch))
        if base != c and len(base) == 1:
            accented.append(c)
            plain.append(base)
    marks = [chr(c) for c in range(0x300, 0x370)]
    return "".join(accented) + "".join(marks), "".join(plain)


def _schema_to(schema: ibis.Schema) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in schema.items()}


def _schema_from(stored: dict[str, str]) -> ibis.Schema:
    return ibis.schema(stored)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in name)


def _q(name: str) -> str:
    return "`" + str(name).replace("`", "``") + "`"


def _sql_type_safe(typ) -> bool:
    """Whether ``typ.simpleString()`` reads back as the same type in Spark SQL (structs and
    maps name their fields unquoted there)."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(typ, ArrayType):
        return _sql_type_safe(typ.elementType)
    return not isinstance(typ, (StructType, MapType))


def _bq(name: str) -> str:
    """A column name for ``F.col`` (backquoted, so dots and spaces are kept)."""
    return _q(name)


def _lit(value) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


__all__ = ["SparkEngine", "similarity_jar", "spark_session"]


def _plain_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its text columns as Python objects, a missing value as None.

    A frame fetched from an engine holds its text in chunked Arrow arrays; PySpark's Arrow
    conversion refuses those ("Cannot convert pyarrow.lib.ChunkedArray to pyarrow.lib.Array")
    and falls back to converting row by row, which writes a missing text as the text 'NaN'.
    Plain objects with None go through either path as NULL."""
    text = [c for c in df.columns if pd.api.types.is_string_dtype(df[c].dtype)
            and not pd.api.types.is_object_dtype(df[c].dtype)]
    if not text:
        return df
    out = df.copy()
    for c in text:
        col = out[c].astype(object)
        out[c] = col.where(col.notna(), None)
    return out


def _plain_text_memtables(expr: ir.Expr) -> ir.Expr:
    """``expr`` with each in-memory pandas table's text made plain (:func:`_plain_text`)."""
    import ibis.expr.operations as ops
    from ibis.formats.pandas import PandasDataFrameProxy

    swap = {}
    for op in expr.op().find(ops.InMemoryTable):
        if isinstance(op.data, PandasDataFrameProxy):
            df = op.data.to_frame()
            plain = _plain_text(df)
            if plain is not df:
                swap[op] = ops.InMemoryTable(name=op.name, schema=op.schema,
                                             data=PandasDataFrameProxy(plain))
    return expr.op().replace(swap).to_expr() if swap else expr
