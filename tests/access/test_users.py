"""Users, tokens, sessions and login throttling in access.sqlite3 (no warehouse needed)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from prisme.access import audit
from prisme.access import users as u

PW = "s3cret-enough"


def test_password_is_argon2_hashed_and_checked(tmp_path):
    u.add_user(tmp_path, "alice", PW, "admin")
    con = sqlite3.connect(tmp_path / "access.sqlite3")
    stored = con.execute("SELECT password_hash FROM users WHERE name='alice'").fetchone()[0]
    assert stored.startswith("$argon2") and PW not in stored
    assert u.authenticate(tmp_path, "alice", PW).role == "admin"
    assert u.authenticate(tmp_path, "alice", "wrong-password") is None
    assert u.authenticate(tmp_path, "nobody", PW) is None
    actions = [e["action"] for e in audit.events(tmp_path, actor="alice")]
    assert "login" in actions and "login_failed" in actions


@pytest.mark.parametrize("role, kw, message", [
    ("advisor", {}, "--advisor"),
    ("manager", {}, "--branch"),
    ("boss", {}, "unknown role"),
])
def test_scoped_roles_need_their_portfolio(tmp_path, role, kw, message):
    with pytest.raises(u.AccessError, match=message):
        u.add_user(tmp_path, "x", PW, role, **kw)


def test_short_password_and_duplicates_are_refused(tmp_path):
    with pytest.raises(u.AccessError, match="8 characters"):
        u.add_user(tmp_path, "x", "short", "admin")
    u.add_user(tmp_path, "x", PW, "admin")
    with pytest.raises(u.AccessError, match="exists"):
        u.add_user(tmp_path, "x", PW, "admin")


def test_tokens_are_stored_hashed_and_revoked_on_disable(tmp_path):
    u.add_user(tmp_path, "bob", PW, "advisor", advisor="Bob B")
    token = u.new_token(tmp_path, "bob")
    con = sqlite3.connect(tmp_path / "access.sqlite3")
    stored = [r[0] for r in con.execute("SELECT token_sha256 FROM api_tokens")]
    assert token not in stored and len(stored[0]) == 64
    user = u.user_for_token(tmp_path, token)
    assert user.name == "bob" and user.advisor == "Bob B"
    assert u.user_for_token(tmp_path, token + "x") is None
    u.disable_user(tmp_path, "bob")
    assert u.user_for_token(tmp_path, token) is None
    assert u.authenticate(tmp_path, "bob", PW) is None
    with pytest.raises(u.AccessError, match="disabled"):
        u.new_token(tmp_path, "bob")


def test_login_throttling_by_name(tmp_path):
    u.add_user(tmp_path, "carol", PW, "admin")
    for _ in range(u.MAX_FAILURES):
        assert u.authenticate(tmp_path, "carol", "bad-password", "10.0.0.1") is None
    with pytest.raises(u.Throttled):  # even the right password is refused now
        u.authenticate(tmp_path, "carol", PW, "10.0.0.2")


def test_login_throttling_by_address(tmp_path):
    u.add_user(tmp_path, "dave", PW, "admin")
    for i in range(u.MAX_FAILURES):
        u.authenticate(tmp_path, f"guess{i}", "bad-password", "10.9.9.9")
    with pytest.raises(u.Throttled):
        u.authenticate(tmp_path, "dave", PW, "10.9.9.9")
    assert u.authenticate(tmp_path, "dave", PW, "10.1.1.1").name == "dave"


def test_sessions(tmp_path):
    u.add_user(tmp_path, "erin", PW, "analyst")
    sid, csrf = u.create_session(tmp_path, "erin")
    user, csrf2 = u.session_user(tmp_path, sid)
    assert user.name == "erin" and csrf2 == csrf and not user.sees_personal_data
    u.end_session(tmp_path, sid)
    assert u.session_user(tmp_path, sid) is None


def _cli(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "prisme.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_cli_users(tmp_path):
    (tmp_path / "prisme.toml").write_text('[project]\nname = "t"\n')
    r = _cli("users", "add", "fred", "--role", "manager", "--branch", "Lyon",
             "--project", str(tmp_path), stdin=PW + "\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert u.authenticate(tmp_path, "fred", PW).branch == "Lyon"
    r = _cli("users", "add", "gina", "--role", "advisor", "--project", str(tmp_path),
             stdin=PW + "\n")
    assert r.returncode == 1 and "--advisor" in r.stdout
    r = _cli("users", "token", "fred", "--project", str(tmp_path))
    assert r.returncode == 0
    assert u.user_for_token(tmp_path, r.stdout.strip()).name == "fred"
    r = _cli("users", "list", "--project", str(tmp_path))
    assert "fred" in r.stdout and "manager" in r.stdout
    r = _cli("users", "disable", "fred", "--project", str(tmp_path))
    assert r.returncode == 0 and u.get_user(tmp_path, "fred").disabled
