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
