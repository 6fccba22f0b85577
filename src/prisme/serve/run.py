"""Running the application: ``prisme serve`` and the end of ``prisme demo``."""

from __future__ import annotations

from prisme.access import users as users_mod


def serve(settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted (uvicorn, one process; DuckDB reads run in its thread pool)."""
    import uvicorn

    from prisme.serve.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


#: the demo's logins: (name, password, role, branch, advisor)
DEMO_PASSWORD = "prisme-demo"


def demo_users(settings, engine=None) -> list[tuple[str, str, str]]:
    """Create (or refresh) an admin, the manager of the largest branch and its largest advisor;
    returns (name, password, what they see)."""
    from prisme import engine as engine_mod

    own = engine is None
    eng = engine or engine_mod.connect(settings, read_only=True)
    try:
        c = eng.table("customer_360")
        c = c.filter(c.branch.notnull() & c.advisor.notnull())
        top = eng.to_pandas(c.group_by(["branch", "advisor"]).aggregate(n=c.count()))
    finally:
        if own:
            eng.close()
    rows = []
    users_mod.add_user(settings.root, "admin", DEMO_PASSWORD, "admin", replace=True)
    rows.append(("admin", DEMO_PASSWORD, "admin: every customer, the audit log"))
    if len(top):
        by_branch = top.groupby("branch").n.sum().sort_values(ascending=False)
        branch = by_branch.index[0]
        advisor = top[top.branch == branch].sort_values("n", ascending=False).advisor.iloc[0]
        users_mod.add_user(settings.root, "manager", DEMO_PASSWORD, "manager", branch=branch,
                           replace=True)
        users_mod.add_user(settings.root, "advisor", DEMO_PASSWORD, "advisor", advisor=advisor,
                           replace=True)
        rows.append(("manager", DEMO_PASSWORD, f"manager of branch {branch}"))
        rows.append(("advisor", DEMO_PASSWORD, f"advisor {advisor} (their customers only)"))
    return rows
