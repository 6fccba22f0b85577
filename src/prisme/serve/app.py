"""The FastAPI application of ``prisme serve``: login, dashboard pages, the 360° card, the cube
explorer and the REST API ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``, docs at ``/docs``).

Every request names its user (a session cookie for the pages, ``Authorization: Bearer TOKEN``
for the API) and reads the warehouse through a :class:`prisme.serve.data.Reader` for that user,
which applies row-level security. Errors of the API are ``application/problem+json``.
"""

from __future__ import annotations

import contextlib
import gc
import secrets
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

import plotly
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from prisme.access import audit
from prisme.access import users as users_mod
from prisme.access.rights import Forbidden
from prisme.access.users import Throttled, User
from prisme.serve import cube, customers, pages
from prisme.serve.data import Reader, Warehouse, WarehouseUnavailable
from prisme.serve.i18n import Translator, pick_language

HERE = Path(__file__).parent
SESSION_COOKIE = "prisme_session"
LOGIN_CSRF_COOKIE = "prisme_login_csrf"
#: pages with company-wide results (no customer rows): refused to advisors
COMPANY_PAGES = ("campaigns", "forecasts", "satisfaction", "quality")
#: timeline events on the card page (the newest; a link shows every event the card keeps)
TIMELINE_PAGE = 50
NAV = ("overview", "segments", "value", "churn", "offers", "campaigns", "forecasts",
       "satisfaction", "branches", "quality", "cube", "customers")


class Problem(Exception):
    """An error answered as problem+json (API) or an error page (HTML)."""

    def __init__(self, status: int, title: str, detail: str = "", fr: str = "") -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.fr = status, title, detail, fr


#: the title of an error page, by status (English, French)
STATUS_TITLES = {400: ("Bad request", "Requête incorrecte"),
                 401: ("Not signed in", "Non connecté"),
                 403: ("Refused", "Accès refusé"), 404: ("Not found", "Introuvable"),
                 405: ("Not allowed", "Méthode non permise"),
                 429: ("Too many attempts", "Trop de tentatives"),
                 500: ("Error", "Erreur"),
                 503: ("Warehouse unavailable", "Entrepôt indisponible")}


def create_app(settings, *, cache_size: int = 512, pool_size: int = 4) -> FastAPI:
    """The application for the project of ``settings``. ``cache_size`` answers (cube results,
    the holdout check) are kept per published version and user scope (0: none)."""
    root = Path(settings.root)
    warehouse = Warehouse(settings, pool_size=pool_size)
    warehouse.cache_size = cache_size
    currency = settings.project.currency
    # the templates are the package's: compiled once, never checked for changes per request
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(["html", "j2"]), auto_reload=False)
    from prisme.serve.card_text import reason_lines

    env.globals["reason_lines"] = reason_lines  # churn reasons in the reader's language
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # the pages and routes are plain functions, run in the event loop's thread pool
        # (40 threads by default): with 20 clients, 20 threads would take turns at the
        # interpreter lock mid-request; a few at a time keep the CPU on requests
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = max(
            1, int(getattr(settings.engine, "serve_requests", 4) or 4))
        await anyio.to_thread.run_sync(warehouse.start)  # and its warm-up, in the background
        # what the start loaded (modules, templates, models) lives as long as the server:
        # out of the collector's way, a full collection walks the requests' objects only
        gc.freeze()
        yield
        gc.unfreeze()  # collectable again at exit (else extensions report leaked objects)
        warehouse.close()

    app = FastAPI(lifespan=lifespan, title="Prisme API", version="1",
                  description="Customer knowledge of the Prisme warehouse: customers and their "
                              "360° card, segments, scores, campaigns, forecasts, the cube and "
                              "the quality audit. Authenticate with `Authorization: Bearer "
                              "TOKEN` (`prisme users token NAME`).",
                  openapi_url="/api/v1/openapi.json", docs_url="/docs", redoc_url=None)
    app.state.settings = settings
    app.state.warehouse = warehouse

    # ------------------------------------------------------------------ helpers
    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def translator(request: Request, user: User | None) -> Translator:
        lang = request.query_params.get("lang") or (user.locale if user else None)
        return Translator(pick_language(lang, request.headers.get("accept-language")), currency)

    def identify(request: Request) -> tuple[User | None, str | None]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            user = users_mod.user_for_token(root, auth[7:].strip())
            if user is None:
                raise Problem(401, "Unauthorized", "the API token is unknown, revoked or its "
                              "user is disabled")
            return user, None
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            found = users_mod.session_user(root, sid)
            if found:
                return found
        return None, None

    def require(request: Request) -> tuple[User, str | None]:
        user, csrf = identify(request)
        if user is None:
            if is_api(request):
                raise Problem(401, "Unauthorized",
                              "send Authorization: Bearer TOKEN (prisme users token NAME)")
            raise _Login(request.url.path + (f"?{request.url.query}" if request.url.query
                                             else ""))
        return user, csrf

    def reading(user: User):
        class _Ctx:
            def __enter__(self_inner):
                try:
                    self_inner.cm = warehouse.engine()
                    eng, version = self_inner.cm.__enter__()
                except WarehouseUnavailable as exc:
                    raise Problem(503, "Warehouse unavailable", str(exc),
                                  "l'entrepôt ne peut pas être lu pour le moment ("
                                  + str(exc) + ")") from exc
                return Reader(eng, user, version, warehouse)

            def __exit__(self_inner, *exc):
                return self_inner.cm.__exit__(*exc)
        return _Ctx()

    def render(request: Request, template: str, user: User | None, csrf: str | None,
               status: int = 200, **ctx) -> HTMLResponse:
        t = translator(request, user)
        html = env.get_template(template).render(
            t=t, user=user, csrf=csrf, nav=[n for n in NAV if not (
                user and user.role == "advisor" and n in COMPANY_PAGES)],
            admin=user is not None and user.role == "admin", path=request.url.path,
            lang=t.lang, **ctx)
        return HTMLResponse(html, status_code=status)

    def check_csrf(form_token: str | None, csrf: str | None) -> None:
        if not csrf or not form_token or not secrets.compare_digest(form_token, csrf):
            raise Problem(403, "Forbidden", "the form's CSRF token is missing or wrong; reload "
                          "the page and try again", "le jeton de sécurité du formulaire manque "
                          "ou a expiré : rechargez la page et recommencez")

    # --------------------------------------------------------------- errors
    class _Login(Exception):
        def __init__(self, next_url: str) -> None:
            self.next_url = next_url

    @app.exception_handler(_Login)
    async def _to_login(request: Request, exc: _Login):
        return RedirectResponse("/login?next=" + quote(exc.next_url), status_code=303)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(request, exc.status, exc.title, exc.detail, exc.fr)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        return problem_response(request, 403, "Forbidden", str(exc), exc.fr or "")

    @app.exception_handler(WarehouseUnavailable)
    async def _unavailable(request: Request, exc: WarehouseUnavailable):
        return problem_response(request, 503, "Warehouse unavailable", str(exc))

    @app.exception_handler(cube.CubeError)
    async def _cube_error(request: Request, exc: cube.CubeError):
        return problem_response(request, 400, "Bad cube request", str(exc))

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        detail = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
                           for e in exc.errors())
        return problem_response(request, 400, "Bad request", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem_response(request, exc.status_code, str(exc.detail), "")

    def problem_response(request: Request, status: int, title: str, detail: str,
                         fr: str = ""):
        """problem+json for the API (English); an error page in the reader's language."""
        if is_api(request):
            return JSONResponse({"type": "about:blank", "title": title, "status": status,
                                 "detail": detail, "instance": request.url.path},
                                status_code=status, media_type="application/problem+json")
        user = None
        try:
            user, _ = identify(request)
        except Problem:
            pass
        t = translator(request, user)
        if t.lang == "fr":
            title = STATUS_TITLES.get(status, (title, title))[1]
            detail = fr or (detail if status != 404 else "cette page n'existe pas")
        else:
            title = STATUS_TITLES.get(status, (title, title))[0]
        return render(request, "error.html.j2", user, None, status=status, status_code=status,
                      title=title, detail=detail)

    # ---------------------------------------------------------------- static
    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_script():
        return FileResponse(plotly_js, media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        path = HERE / "static" / name
        if name not in ("style.css", "app.js") or not path.exists():
            raise Problem(404, "Not found", name)
        media = "text/css" if name.endswith(".css") else "application/javascript"
        return FileResponse(path, media_type=media)

    # ----------------------------------------------------------------- login
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/", error: str = ""):
        token = secrets.token_urlsafe(24)
        resp = render(request, "login.html.j2", None, None, login_csrf=token,
                      next_url=_safe_next(next), error=error)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
        return resp

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: Annotated[str, Form()],
              password: Annotated[str, Form()], csrf: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = "/"):
        check_csrf(csrf, request.cookies.get(LOGIN_CSRF_COOKIE))
        address = request.client.host if request.client else ""
        t = translator(request, None)
        try:
            user = users_mod.authenticate(root, username, password, address)
        except Throttled as exc:
            return _login_again(request, next, str(exc), 429)
        if user is None:
            return _login_again(request, next, t("bad_login"), 401)
        sid, _ = users_mod.create_session(root, user.name)
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=users_mod.SESSION_S)
        resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return resp

    def _login_again(request, next_url, message, status):
        token = secrets.token_urlsafe(24)
        resp = render(request, "login.html.j2", None, None, status=status, login_csrf=token,
                      next_url=_safe_next(next_url), error=message)
        resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str, Form()] = ""):
        user, session_csrf = require(request)
        check_csrf(csrf, session_csrf)
        users_mod.end_session(root, request.cookies.get(SESSION_COOKIE, ""))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.post("/language", include_in_schema=False)
    def language(request: Request, lang: Annotated[str, Form()],
                 csrf: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
        user, session_csrf = require(request)
        check_csrf(csrf, session_csrf)
        users_mod.set_locale(root, user.name, lang if lang in ("en", "fr") else None)
        return RedirectResponse(_safe_next(next), status_code=303)

    # ----------------------------------------------------------------- pages
    def dashboard(name: str):
        def handler(request: Request):
            user, csrf = require(request)
            if name in COMPANY_PAGES and user.role == "advisor":
                raise Forbidden("this page shows company-wide results; an advisor sees the "
                                "indicators of their own customers only",
                                "cette page montre des résultats de toute l'entreprise ; un "
                                "conseiller ne voit que les indicateurs de ses propres clients")
            t = translator(request, user)
            fn = pages.PAGES[name]
            with reading(user) as reader:
                # a published state never changes: a page is computed once per version,
                # scope and language
                blocks = reader.cached(
                    ("page", name, t.lang),
                    lambda: fn(reader, t, settings) if name == "value" else fn(reader, t))
            return render(request, "page.html.j2", user, csrf, title=t(name), blocks=blocks,
                          page=name)
        handler.__name__ = f"page_{name}"
        return handler

    app.get("/", response_class=HTMLResponse, include_in_schema=False)(dashboard("overview"))
    for name in NAV:
        if name in pages.PAGES and name != "overview":
            app.get(f"/{name}", response_class=HTMLResponse,
                    include_in_schema=False)(dashboard(name))

    @app.get("/customers", response_class=HTMLResponse, include_in_schema=False)
    def customers_page(request: Request, q: str = "", page: int = 1):
        user, csrf = require(request)
        with reading(user) as reader:
            result = customers.search(reader, q, page, 25)
        pages_n = max(1, -(-result["total"] // result["page_size"]))
        return render(request, "customers.html.j2", user, csrf, title=translator(
            request, user)("customers"), q=q, result=result, pages_n=pages_n,
            page="customers", personal=user.sees_personal_data)

    @app.get("/customers/{party_id}", response_class=HTMLResponse, include_in_schema=False)
    def card_page(request: Request, party_id: str, timeline: str = ""):
        user, csrf = require(request)
        # the page shows the newest TIMELINE_PAGE events; ?timeline=all, every event the
        # card keeps (the API always gives them all)
        limit = customers.CARD_EVENTS if timeline == "all" else TIMELINE_PAGE
        data = _card(user, party_id, "page", limit)
        t = translator(request, user)
        from prisme.serve import card_text

        return render(request, "card.html.j2", user, csrf, title=party_id, card=data,
                      page="customers", events=_timeline_rows(data["timeline"], t),
                      kept=min(data["event_count"], customers.CARD_EVENTS),
                      field_label=lambda f: t.pick(*customers.FIELD_LABELS.get(f, (f, f))),
                      value_text=card_text.value_sentence(data["value"], t),
                      alive_text=card_text.alive_sentence(data["value"], t),
                      offer=lambda o: card_text.offer_text(o, t.lang))

    def _timeline_rows(events: list[dict], t: Translator) -> list[dict]:
        """The timeline's cells as text (formatted here in one loop rather than through a
        template call per cell), in the reader's language."""
        kinds = {k: t.pick(*v) for k, v in customers.KINDS.items()}
        flags = {True: t.pick("return", "retour"), False: t.pick("responded", "a répondu")}
        rows = []
        for e in events:
            kind, amount = e.get("kind"), e.get("amount")
            ref = f"{e['ref']} · " if e.get("ref") and kind == "purchase" else ""
            rows.append({
                "kind": kind, "at": e.get("at"), "when": t.date(e.get("at")),
                "what": kinds.get(kind, kind),
                "detail": ref + customers.event_detail(e, t.code, t.lang),
                "flag": flags[kind == "purchase"] if e.get("flag") else None,
                "amount_key": "" if amount is None else amount,
                "amount": "" if amount is None else t.money(amount, 2)})
        return rows

    def _card(user: User, party_id: str, via: str,
              timeline_limit: int = customers.CARD_EVENTS) -> dict:
        with reading(user) as reader:
            try:
                data = customers.card(reader, party_id, timeline_limit)
            except Forbidden:
                audit.record(root, user.name, "refused_customer", party_id, {"via": via})
                raise
            except customers.NotFound as exc:
                raise Problem(404, "Not found", str(exc),
                              f"aucun client {party_id} dans l'entrepôt") from exc
        try:  # a view that cannot be logged is not shown
            audit.record(root, user.name, "view_customer", party_id, {"via": via})
        except Exception as exc:  # noqa: BLE001 - whatever stopped the log refuses the view
            raise Problem(503, "Audit log unavailable",
                          f"the view could not be written to the audit log ({exc}); try again",
                          f"la consultation n'a pas pu être inscrite au journal d'audit ({exc})"
                          " ; réessayez") from exc
        return data

    @app.get("/cube", response_class=HTMLResponse, include_in_schema=False)
    def cube_page(request: Request, measures: str = "revenue,orders,customers",
                  dimensions: str = "year", filters: str = ""):
        user, csrf = require(request)
        t = translator(request, user)
        error, q, df, summary = None, None, None, ""
        try:
            q = cube.parse(measures, dimensions, filters)
            with reading(user) as reader:
                df = reader.cached(("cube",) + q.key(), lambda: cube.run(reader, q))
        except cube.CubeError as exc:
            error = str(exc)
        figure = None
        if df is not None and len(df) and q.dimensions:
            from prisme.serve import charts

            m = q.measures[0]
            first = q.dimensions[0]
            if len(q.dimensions) == 1:
                series = {_label(cube.MEASURES[m], t): df[m]}
                x = [_shown(first, v, t) for v in df[first]]
            else:  # grouped bars: one series per value of the second dimension
                wide = df.pivot_table(index=first, columns=q.dimensions[1], values=m,
                                      aggfunc="sum")
                x = [_shown(first, v, t) for v in wide.index]
                series = {_shown(q.dimensions[1], col, t): wide[col].tolist()
                          for col in wide.columns[:12]}
            figure = charts.bars(x, series,
                                 _label(cube.MEASURES[m], t) + _unit(cube.MEASURES[m], t),
                                 _label(cube.DIMENSIONS[first], t))
            summary = _cube_sentence(df, q, t)
        return render(request, "cube.html.j2", user, csrf, title=t("cube"), q=q, df=df,
                      error=error, figure=figure, summary=summary, cube=cube, measures=measures,
                      dimensions=dimensions, filters=filters, page="cube",
                      link=lambda query: "/cube?" + urlencode(query.params()),
                      label=lambda obj: _label(obj, t), shown=lambda d, v: _shown(d, v, t))

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(request: Request, subject: str | None = None, actor: str | None = None):
        user, csrf = require(request)
        if user.role != "admin":
            raise Forbidden("the audit log is for administrators",
                            "le journal d'audit est réservé aux administrateurs")
        import pandas as pd

        t = translator(request, user)
        ev = pd.DataFrame(audit.events(root, subject=subject, actor=actor, limit=500))
        if ev.empty:
            blocks = [pages.notice(t.pick("No event yet.", "Aucun événement."))]
        else:
            ev["detail"] = ev.detail.astype(str)
            blocks = [pages.table(t("audit"), ev[["at", "actor", "action", "subject", "detail"]],
                                  t, page_size=25)]
        return render(request, "page.html.j2", user, csrf, title=t("audit"), blocks=blocks,
                      page="audit")

    # ------------------------------------------------------------------- API
    api = "/api/v1"

    @app.get(f"{api}/me", tags=["access"], summary="Who the token belongs to")
    def api_me(request: Request):
        user, _ = require(request)
        return {"name": user.name, "role": user.role, "branch": user.branch,
                "advisor": user.advisor, "personal_data": user.sees_personal_data}

    @app.get(f"{api}/customers", tags=["customers"],
             summary="Search customers (name, e-mail, phone, id; accent- and case-insensitive)")
    def api_customers(request: Request, q: str = "", page: Annotated[int, Query(ge=1)] = 1,
                      page_size: Annotated[int, Query(ge=1, le=200)] = 20):
        user, _ = require(request)
        with reading(user) as reader:
            return customers.search(reader, q, page, page_size)

    @app.get(f"{api}/customers/{{party_id}}", tags=["customers"],
             summary="The 360° card of one customer")
    def api_card(request: Request, party_id: str):
        user, _ = require(request)
        return _card(user, party_id, "api")

    @app.get(f"{api}/segments", tags=["analyses"],
             summary="RFM segments and behavioural clusters over the user's customers")
    def api_segments(request: Request):
        from prisme.analytics.segments import describe_segments, segment_table

        user, _ = require(request)
        with reading(user) as reader:
            c = reader.table("customer_360")
            rfm = reader.df(segment_table(c, "rfm_segment"))
            cl = reader.df(segment_table(c, "cluster", "cluster_label"))
        return {"rfm_segments": customers._records(rfm), "clusters": customers._records(cl),
                "sentences": describe_segments(rfm) + describe_segments(cl, "cluster")}

    @app.get(f"{api}/scores", tags=["analyses"],
             summary="Per-customer scores (value, P(alive), churn), paged")
    def api_scores(request: Request, page: Annotated[int, Query(ge=1)] = 1,
                   page_size: Annotated[int, Query(ge=1, le=1000)] = 100):
        user, _ = require(request)
        cols = ["party_id", "rfm_segment", "cluster", "p_alive", "expected_purchases_12m",
                "clv_12m", "clv_12m_low", "clv_12m_high", "churn_probability", "as_of"]
        with reading(user) as reader:
            c = reader.table("customer_360")
            total = int(reader.scalar(c.count()) or 0)
            df = reader.df(c.select(*[x for x in cols if x in c.columns]).order_by("party_id")
                           .limit(page_size, offset=(page - 1) * page_size))
        return {"items": customers._records(df), "total": total, "page": page}

    def _company(request: Request, tables: dict[str, str]):
        user, _ = require(request)
        if user.role == "advisor":
            raise Forbidden("company-wide results are not available to an advisor")
        out = {}
        with reading(user) as reader:
            for key, name in tables.items():
                out[key] = _with_findings(customers._records(reader.df(
                    reader.table(name).limit(5000)))) if reader.has(name) else None
        missing = [tables[k] for k, v in out.items() if v is None]
        out["available"] = not missing
        if missing:
            out["note"] = (f"not in the warehouse yet: {', '.join(missing)} (built by "
                           "prisme build once that stage is installed)")
        return out

    def _with_findings(records: list[dict]) -> list[dict]:
        """Each row's ``findings`` as a list of codes and figures, each with its English
        sentence (``prisme.i18n.findings``; the stored JSON text otherwise)."""
        from prisme.i18n import findings as words

        for rec in records:
            if "findings" in rec:
                rec["findings"] = [{**f, "sentence": words.say(f, "en", currency)}
                                   for f in words.parse(rec["findings"])]
        return records

    @app.get(f"{api}/campaigns", tags=["analyses"],
             summary="Campaign and channel results (company-wide)")
    def api_campaigns(request: Request):
        return _company(request, {"campaigns": "mart_campaigns", "channels": "mart_channels"})

    @app.get(f"{api}/forecasts", tags=["analyses"], summary="Forecasts (company-wide)")
    def api_forecasts(request: Request):
        return _company(request, {"forecasts": "mart_forecasts"})

    @app.get(f"{api}/advertising", tags=["analyses"],
             summary="Advertising response per channel, correlational (company-wide)")
    def api_advertising(request: Request):
        return _company(request, {"advertising": "mart_advertising"})

    @app.get(f"{api}/satisfaction", tags=["analyses"],
             summary="Satisfaction drivers of recommendation and churn (company-wide)")
    def api_satisfaction(request: Request):
        return _company(request, {"satisfaction": "mart_satisfaction"})

    @app.get(f"{api}/quality", tags=["analyses"],
             summary="Quality score of each source list, per load (company-wide)")
    def api_quality(request: Request):
        from prisme.analytics import quality as q

        user, _ = require(request)
        if user.role == "advisor":
            raise Forbidden("company-wide results are not available to an advisor")
        with reading(user) as reader:
            if not reader.has("quality_audit"):
                return {"available": False, "scores": [], "note": "no quality audit yet"}
            audit_df = reader.df(reader.table("quality_audit"))
        return {"available": True, "scores": customers._records(q.scores(audit_df)),
                "weights": dict(q.WEIGHTS)}

    @app.get(f"{api}/cube", tags=["cube"],
             summary="Declared measures by declared dimensions (roll-up, drill-down, slice)")
    def api_cube(request: Request, measures: str = "", dimensions: str = "",
                 filters: str = ""):
        user, _ = require(request)
        q = cube.parse(measures, dimensions, filters)
        with reading(user) as reader:
            df = reader.cached(("cube",) + q.key(), lambda: cube.run(reader, q))
        return {"measures": q.measures, "dimensions": q.dimensions, "filters": q.filters,
                "rows": customers._records(df),
                "drill_down": {d: cube.DIMENSIONS[d].finer for d in q.dimensions},
                "roll_up": {d: cube.DIMENSIONS[d].coarser for d in q.dimensions}}

    @app.get(f"{api}/cube/model", tags=["cube"], summary="The declared measures and dimensions")
    def api_cube_model(request: Request):
        require(request)
        return cube.describe()

    @app.get("/healthz", include_in_schema=False)
    def health():
        # warm: the per-customer marts of the served version are in the engine's cache
        return {"ok": True, "time": time.time(), "warm": warehouse.is_warm()}

    return app


def _safe_next(url: str) -> str:
    """Only a local path (no open redirect)."""
    return url if url.startswith("/") and not url.startswith("//") else "/"


def _cube_sentence(df, q, t: Translator) -> str:
    """The answer's largest cell of the first measure, and its share when the measure adds
    up (money, campaign contacts)."""
    m = q.measures[0]
    measure = cube.MEASURES[m]
    vals = df[m].astype(float)
    if not len(vals) or vals.isna().all():
        return ""
    top = df.loc[vals.idxmax()]
    where = " · ".join(_shown(d, top[d], t) for d in q.dimensions)
    said = f"{_label(measure, t)} : " if t.lang == "fr" else f"{_label(measure, t)}: "
    out = said + t.pick(f"largest for {where}, {t.value(top[m], measure.unit)}",
                        f"le plus élevé pour {where}, {t.value(top[m], measure.unit)}")
    additive = measure.unit == "money" or m == "contacts"  # sums that add up across cells
    total = vals.sum()
    if additive and total > 0:
        out += t.pick(f" ({t.percent(top[m] / total)} of the total shown)",
                      f" ({t.percent(top[m] / total)} du total affiché)")
    return out + "."


def _shown(dimension: str, value, t: Translator) -> str:
    """A dimension's value as the reader's language says it (the value itself stays in
    links and filters)."""
    if value is None:
        return "—"
    if value == cube.UNKNOWN:
        return t.pick(cube.UNKNOWN, "(inconnu)")
    if dimension == "rfm_segment":
        return t.segment(value)
    if dimension == "cluster":
        return t.cluster(value)
    if dimension == "channel":
        return str(t.code(value))
    return str(value)


def _label(obj, t: Translator) -> str:
    return obj.label_fr if t.lang == "fr" else obj.label_en


def _unit(measure, t: Translator) -> str:
    return {"money": f" ({t.currency})", "ratio": " (0–1)"}.get(measure.unit, "")
