import ibis
import pytest

from prisme import engine as engine_mod
from prisme.engine import EngineBusy, publish
from prisme.engine import functions as F


def test_transaction_rolls_back_on_error(engine):
    engine.create_table("t", schema=ibis.schema({"a": "int64"}))
    with pytest.raises(RuntimeError):
        with engine.transaction():
            engine.insert("t", ibis.memtable({"a": [1, 2]}))
            raise RuntimeError("boom")
    assert engine.scalar(engine.table("t").count()) == 0
    with engine.transaction():
        engine.insert("t", ibis.memtable({"a": [1, 2]}))
    assert engine.scalar(engine.table("t").count()) == 2


def test_try_functions_give_null_not_errors(engine):
    t = ibis.memtable({"d": ["21/03/2024", "2024-03-21", None], "n": ["1 234,5", "abc", ""]})
    out = engine.to_pandas(
        t.mutate(
            ts=F.try_timestamp(engine, t.d, "%d/%m/%Y"),
            v=F.try_number(t.n, decimal=",", thousands=" "),
        )
    )
    assert str(out.ts[0].date()) == "2024-03-21"
    assert out.ts[1:].isna().all()
    assert out.v[0] == 1234.5
    assert out.v[1:].isna().all()


def test_memory_and_threads_come_from_settings(settings):
    settings.engine.memory_limit = "1GB"
    settings.engine.threads = 1
    settings.engine.shuffle_partitions = 3
    with engine_mod.connect(settings) as eng:
        if eng.name == "spark":  # a Spark engine's own session takes its shuffle partitions
            assert eng.session.conf.get("spark.sql.shuffle.partitions") == "3"
            return
        rows = eng.execute_sql("SELECT current_setting('threads'), current_setting('memory_limit')")
    assert rows[0][0] == 1
    assert rows[0][1].startswith(("953", "1.0", "1 ", "1GiB", "1000")) or "GiB" in rows[0][1] or "MiB" in rows[0][1]


def test_second_loader_is_refused_with_a_clear_message(settings):
    settings.engine.lock_timeout_s = 0.3
    with engine_mod.connect(settings) as eng, eng.exclusive("first load"):
        # a second process-level lock on the same file cannot be taken
        import fcntl

        lock = publish.lock_path(settings.warehouse_path)  # beside the file or directory
        with open(lock, "a+") as fh, pytest.raises(BlockingIOError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    # once released, the lock can be taken again
    with engine_mod.connect(settings) as eng, eng.exclusive("second load"):
        pass
    assert EngineBusy.__mro__[1].__name__ == "EngineError"


@pytest.mark.cannot_on("spark", reason="DuckDB's CSV reader numbering (CASE or ASOF on rowid); "
                       "Spark has no bulk CSV reader with line numbers: ingest reads line by line")
def test_csv_line_numbers_same_by_case_and_by_asof_join(engine, tmp_path, monkeypatch):
    """``__line`` of a CSV read is a CASE on rowid for a few shifts and an ASOF join for
    many; both give every row its physical line, around rejected, empty and multi-line
    records."""
    from prisme.engine import duckdb_backend
    from prisme.engine.base import LineLayout

    lines, blank, breaks, expected, line = ["id;v"], [], [], {}, 2
    for i in range(1, 400):
        if i % 7 == 0:
            lines.append(f"{i}")  # ragged: rejected
            line += 1
        elif i % 11 == 0:
            lines.append("")  # empty
            blank.append(line)
            line += 1
            continue
        elif i % 13 == 0:
            lines.append(f'{i};"two\nlines"')
            breaks.append(line)
            expected[str(i)] = line
            line += 2
        else:
            lines.append(f"{i};x")
            expected[str(i)] = line
            line += 1
    path = tmp_path / "n.csv"
    path.write_text("\n".join(lines) + "\n")
    records = line - 1 - len(blank) - len(breaks)
    layout = LineLayout(blank=blank, breaks=breaks, records=records)
    got = {}
    for limit in (duckdb_backend.MAX_SHIFT_CASE, 0):
        monkeypatch.setattr(duckdb_backend, "MAX_SHIFT_CASE", limit)
        n, rejects = engine.read_csv_text(str(path), f"raw_n{limit}", delim=";",
                                          layout=layout, columns=["id", "v"])
        df = engine.to_pandas(engine.table(f"raw_n{limit}"))
        got[limit] = dict(zip(df["id"], df["__line"].tolist(), strict=True))
        assert n == len(expected) and len(rejects) == 57
        engine.drop_raw(f"raw_n{limit}")
    assert got[duckdb_backend.MAX_SHIFT_CASE] == expected == got[0]


@pytest.mark.cannot_on("spark", reason="DuckDB's preserve_insertion_order setting; on Spark "
                       "writes are unordered anyway and the block does nothing")
def test_unordered_writes_restores_the_setting(engine):
    """The block relaxes row order for its INSERTs only, also when it fails."""
    def setting():
        return engine.execute_sql("SELECT current_setting('preserve_insertion_order')")[0][0]

    assert setting() is True
    with pytest.raises(RuntimeError):
        with engine.unordered_writes():
            assert setting() is False
            raise RuntimeError("boom")
    assert setting() is True


def test_min_by_takes_the_value_of_the_smallest_rank_per_group(engine):
    """``min_by`` (the golden record's survivorship aggregate) agrees with argmin, and its
    ``where`` skips rows whatever their rank."""
    rows = ibis.memtable({"g": [1, 1, 1, 2, 2], "v": ["a", "b", "c", "d", "e"],
                          "rank": [3, 1, 2, 2, 5], "ok": [True, False, True, True, True]})
    out = rows.group_by("g").aggregate(
        best=F.min_by(rows.v, rows["rank"]),
        best_ok=F.min_by(rows.v, rows["rank"], rows.ok),
        argmin=rows.v.argmin(rows["rank"]),
    ).order_by("g")
    got = engine.to_pandas(out)
    assert got["best"].tolist() == got["argmin"].tolist() == ["b", "d"]
    assert got["best_ok"].tolist() == ["c", "d"]


def test_compact_rewrites_the_file_without_deleted_rows(engine, settings):
    """Deleted rows stay in DuckDB's free blocks; compaction leaves only live ones."""
    import ibis
    import pandas as pd

    from prisme.engine import EngineError

    engine.create_table("t", ibis.memtable(pd.DataFrame({"v": ["gone@secret.example",
                                                                "kept@example.fr"]})))
    if engine.name == "duckdb":
        engine.execute_sql("CHECKPOINT")
    engine.create_view("v", engine.table("t"))
    engine.create_table("t2", engine.table("t").filter(lambda t: t.v != "gone@secret.example"))
    engine.drop_table("t")
    engine.rename_table("t2", "t")
    if engine.name != "duckdb":
        try:
            engine.compact()
        except EngineError as exc:
            assert "not available" in str(exc)
        return
    engine.execute_sql("CHECKPOINT")
    path = settings.warehouse_path
    assert b"gone@secret.example" in path.read_bytes()
    engine.compact()
    assert b"gone@secret.example" not in path.read_bytes()
    assert engine.to_pandas(engine.table("v")).v.tolist() == ["kept@example.fr"]


def test_a_fetched_frame_written_back_keeps_its_missing_text_missing(engine):
    """A frame read from the engine and written again (a frame, or an in-memory table in an
    expression) keeps a missing text as NULL — on Spark it came back as the text 'NaN'."""
    import ibis
    import pandas as pd

    engine.create_table("t", pd.DataFrame({"k": [1, 2, 3], "a": ["x", None, "z"]}),
                        overwrite=True)
    back = engine.to_pandas(engine.table("t"))
    for obj in (back, ibis.memtable(back).cast({"a": "string"}),
                ibis.union(ibis.memtable(back), ibis.memtable(back))):
        t = engine.create_table("t2", obj, overwrite=True)
        assert engine.scalar(t.a.isnull().sum()) == engine.scalar(t.count()) // 3
        assert engine.scalar((t.a == "NaN").sum()) == 0


def test_prewarm_reads_the_tables_it_is_given_and_changes_no_answer(engine):
    """``prewarm`` (a server's warm-up of the per-customer marts) skips a table the warehouse
    does not hold, reads at most the tables named, and answers stay the same; on DuckDB the
    table's blocks are then in the buffer pool."""
    import pandas as pd

    df = pd.DataFrame({"party_id": [f"P{i:06d}" for i in range(5000)],
                       "card": [f"{{\"x\": {i}}}" for i in range(5000)]})
    t = engine.create_table("warm_me", df, overwrite=True)
    before = engine.to_pandas(t.order_by("party_id"))
    read = engine.prewarm(["warm_me", "no_such_table"])
    assert read in (0, 1)
    pd.testing.assert_frame_equal(engine.to_pandas(t.order_by("party_id")), before)
    if engine.dialect.name == "duckdb":
        assert read == 1  # DuckDB keeps the blocks read in its buffer pool


def test_a_lookup_table_keeps_rows_order_and_types(engine):
    """``create_lookup_table`` (the card mart, read one row at a time) holds what the
    expression gives, in its order, replacing an earlier table; on DuckDB the long text
    column is stored uncompressed (ZSTD segments made a point read decode a large block)."""
    import ibis
    import pandas as pd

    df = pd.DataFrame({"party_id": [f"P{i:05d}" for i in range(3000, 0, -1)],
                       "n": range(3000),
                       "card": [("{\"events\": [" + ",".join(['"x"'] * (i % 50)) + "]}")
                                for i in range(3000)]})
    src = engine.create_table("lookup_src", df, overwrite=True)
    engine.create_lookup_table("lookup_t", src.filter(src.n > 0).limit(5), text=("card",))
    expr = src.order_by("party_id")
    t = engine.create_lookup_table("lookup_t", expr, text=("card",))
    got = engine.to_pandas(t)
    want = engine.to_pandas(expr)
    if engine.dialect.name != "duckdb":  # a Spark table has no order of its own
        got = got.sort_values("party_id", ignore_index=True)
    pd.testing.assert_frame_equal(got, want)  # every row (on DuckDB in the expression's order)
    assert t.schema() == expr.schema()
    assert isinstance(t, ibis.Table)
    if engine.dialect.name == "duckdb":
        kinds = {r[0] for r in engine.execute_sql(
            "SELECT DISTINCT compression FROM pragma_storage_info('lookup_t') "
            "WHERE column_name = 'card' AND segment_type <> 'VALIDITY'")}
        assert kinds == {"Uncompressed"}


def test_splink_input_is_read_by_tasks_not_held_in_the_plan(engine):
    """A pandas frame given to Splink (identity's records) becomes a table Spark's tasks
    read, never a local relation kept in the plan: the optimiser copied a local relation's
    rows onto the driver's heap for every query Splink persisted, and Spark local ran out of
    an 8 GB heap at 100,000 customers (bench/RESULTS.md, session 9). The setting that
    decides it is the session's own again afterwards; the rows are the frame's."""
    import pandas as pd

    df = pd.DataFrame({"record_id": [1, 2, 3], "first_name": ["ann", None, "bob"]})
    key = "spark.sql.execution.arrow.localRelationThreshold"
    before = engine.session.conf.get(key) if engine.name == "spark" else None
    api = engine.splink_api()
    registered = api.register(df)
    if engine.name != "spark":
        assert sorted(registered.as_pandas_dataframe().record_id.tolist()) == [1, 2, 3]
        return
    spark_df = engine.session.table(registered.physical_name)
    plan = spark_df._jdf.queryExecution().optimizedPlan().toString()
    assert "LocalRelation" not in plan, plan
    assert engine.session.conf.get(key) == before
    got = spark_df.toPandas().sort_values("record_id")
    assert got.record_id.tolist() == [1, 2, 3]
    assert got.first_name.tolist()[0] == "ann" and got.first_name.isna().tolist()[1]
