"""Running the application: ``prisme serve`` and the end of ``prisme demo``."""

from __future__ import annotations

import os

from prisme.access import users as users_mod

#: how ``app_from_env`` finds its project (set by ``serve`` for its worker processes)
PROJECT_ENV = "PRISME_SERVE_PROJECT"
CACHE_ENV = "PRISME_SERVE_CACHE_SIZE"


def app_from_env():
    """The application of the project named by ``$PRISME_SERVE_PROJECT`` (a worker's)."""
    from prisme.config import load_settings
    from prisme.serve.app import create_app

    return create_app(load_settings(os.environ[PROJECT_ENV]),
                      cache_size=int(os.environ.get(CACHE_ENV, "512")))


def serve(settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve until interrupted (uvicorn). Each worker is a process with its own engines and
    cache: rendering and query compilation are Python work, so a second core needs a second
    worker; logins and the audit log are shared through ``access.sqlite3``."""
    import uvicorn

    os.environ[PROJECT_ENV] = str(settings.root)
    if workers > 1:
        uvicorn.run("prisme.serve.run:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="warning")
    else:
        uvicorn.run(app_from_env(), host=host, port=port, log_level="warning")


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
