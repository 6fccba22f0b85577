from prisme.access import audit


def test_record_and_read_back_newest_first(tmp_path):
    audit.record(tmp_path, "alice", "view_customer", "P000001", {"page": "card"})
    audit.record(tmp_path, "bob", "export", "L1", {"rows": 12})
    rows = audit.events(tmp_path)
    assert [r["actor"] for r in rows] == ["bob", "alice"]
    assert rows[1]["detail"] == {"page": "card"}
    assert audit.events(tmp_path, actor="alice")[0]["subject"] == "P000001"


def test_erase_subject_blanks_personal_fields_and_keeps_the_event(tmp_path):
    audit.record(tmp_path, "alice", "view_customer", "P000001", {"email": "a@b.fr"})
    audit.record(tmp_path, "alice", "view_customer", "P000002")
    assert audit.erase_subject(tmp_path, "P000001") == 1
    rows = audit.events(tmp_path, actor="alice")
    assert len(rows) == 2
    assert "P000001" not in audit.access_path(tmp_path).read_bytes().decode("latin-1")
    assert {r["subject"] for r in rows} == {"erased", "P000002"}


def test_concurrent_records_are_all_committed_when_they_return(tmp_path):
    """A server's threads append together (one transaction for those queued at once): every
    event is in the log — read by another connection — as soon as its call returns."""
    import threading

    seen_missing = []

    def view(i: int) -> None:
        for k in range(25):
            subject = f"P{i:03d}-{k:03d}"
            audit.record(tmp_path, f"user{i}", "view_customer", subject, {"k": k})
            if not audit.events(tmp_path, subject=subject):  # a fresh connection
                seen_missing.append(subject)

    threads = [threading.Thread(target=view, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not seen_missing
    rows = audit.events(tmp_path, limit=10_000)
    assert len(rows) == 12 * 25
    assert len({r["subject"] for r in rows}) == 12 * 25


def test_a_failed_commit_is_raised_to_each_caller_of_its_batch(tmp_path):
    import pytest

    audit.record(tmp_path, "alice", "view_customer", "P1")
    con = audit.shared(tmp_path)
    con.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(Exception, match="disk says no"):
        audit.record(tmp_path, "alice", "view_customer", "P2")
    con.execute("DROP TRIGGER refuse")
    audit.record(tmp_path, "alice", "view_customer", "P3")
    assert [r["subject"] for r in audit.events(tmp_path)] == ["P3", "P1"]
