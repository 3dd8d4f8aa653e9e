"""The back office dashboard: a read-only Starlette app over the back office database.

Pages and endpoints (all but /login, /healthz and /static need a session):

    GET  /                  -> /dashboard
    GET  /login, POST /login, POST /logout
    GET  /dashboard         the page: ?day=YYYY-MM-DD&store=S (both optional)
    GET  /dashboard/live    the page's sections alone, polled by dashboard.js
    GET  /dashboard.json    the same data for scripts
    GET  /chart.svg         sales per hour
    GET  /healthz           "ok" (no data, no session)

A page without a session redirects to the login; an endpoint answers 401. Unknown query
parameters, a bad day or store are 400; unknown paths 404; a database that cannot be
reached 503; anything unexpected is logged and answered 500 with no trace.
Database reads run in Starlette's thread pool, one transaction per request, through
`backoffice.db.Database` (its own connection, so a long read never holds the consumer).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance.domain.money import Money
from backoffice.catalog import RulesCache
from backoffice.db import Database, DatabaseUnavailable
from backoffice.web import queries
from backoffice.web.auth import COOKIE, Credentials, Sessions, check_password
from backoffice.web.chart import hours_svg

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
QUERY_KEYS = frozenset({"day", "store"})
MAX_FORM = 4096
FAILURES_PER_MINUTE = 10


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the dashboard behaves; the address and password file are the server's business."""

    refresh_s: float = 5.0  # how often the page polls for fresh sections
    silent_after_s: float = 90.0  # an "online" till not heard from for longer is flagged
    session_hours: float = 12.0
    secure_cookie: bool = False  # set behind HTTPS


def utc_now() -> datetime:
    """The office clock, aware UTC."""
    return datetime.now(UTC)


class _SecurityHeaders:
    """Headers on every response: no framing, no sniffing, scripts and styles from us only."""

    HEADERS = (
        (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; "
                                     b"frame-ancestors 'none'; form-action 'self'"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    )  # fmt: skip

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _money(minor: int | None, currency: str) -> str:
    return "-" if minor is None else Money(int(minor), currency).format()


def _clock_time(text: str | None) -> str:
    """A stored ISO time as HH:MM:SS (with the date when it is not today's)."""
    if not text:
        return "-"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    shown = moment.strftime("%H:%M:%S")
    return shown if moment.date() == date.today() else f"{moment:%Y-%m-%d} {shown}"


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def _ranges(numbers: tuple[int, ...]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _plain(value: Any) -> Any:
    """Dataclasses, Decimals and datetimes as JSON-ready values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class Dashboard:
    """The app's handlers, bound to one database, one login and one set of settings."""

    def __init__(self, db: Database, creds: Credentials, settings: WebSettings,
                 clock: Callable[[], datetime], today: Callable[[], date]) -> None:  # fmt: skip
        self.db, self.settings, self.clock, self.today = db, settings, clock, today
        self.creds = creds
        self.sessions = Sessions(creds, int(settings.session_hours * 3600))
        self.cache = queries.DayCache()
        self.names = RulesCache()
        self.failures: deque[float] = deque()
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        env.filters.update(money=_money, clock=_clock_time, ranges=_ranges)
        env.globals.update(ago=_ago)
        self.templates = Jinja2Templates(env=env)

    # --- helpers ----------------------------------------------------------------------------

    def signed_in(self, request: Request) -> bool:
        """Whether the request carries a valid session."""
        return self.sessions.valid(request.cookies.get(COOKIE))

    def _filters(self, request: Request) -> tuple[date, str | None]:
        params = request.query_params
        unknown = sorted(set(params.keys()) - QUERY_KEYS)
        if unknown:
            raise HTTPException(400, f"unknown query parameter {unknown[0]!r} "
                                     f"(this page takes day and store)")  # fmt: skip
        for key in QUERY_KEYS:
            if len(params.getlist(key)) > 1:
                raise HTTPException(400, f"{key}: given more than once")
        day = self.today()
        if params.get("day"):
            try:
                day = queries.parse_day(params["day"])
            except ValueError:
                raise HTTPException(400, "day: expected a date as YYYY-MM-DD") from None
        store = params.get("store") or None
        if store is not None and (len(store) > 64 or not store.isprintable()):
            raise HTTPException(400, "store: expected a store id")
        return day, store

    def _load(self, day: date, store: str | None) -> queries.Dashboard:
        with self.db.transaction(readonly=True) as tx:
            return queries.dashboard(tx, self.cache, self.names, day=day, store=store,
                                     now=self.clock(),
                                     silent_after_s=self.settings.silent_after_s)  # fmt: skip

    def _context(self, request: Request, data: queries.Dashboard) -> dict[str, Any]:
        query = {k: v for k, v in (("day", data.day), ("store", data.store)) if v}
        day = date.fromisoformat(data.day)

        def link(**changes: str | None) -> str:
            merged = {**query, **changes}
            return "?" + urlencode({k: v for k, v in merged.items() if v})

        return {
            "d": data,
            "query": urlencode(query),
            "charts": {c: hours_svg(bars, c) for c, bars in sorted(data.hours.items())},
            "is_today": day == self.today(),
            "prev_link": link(day=queries.day_before(day).isoformat()),
            "today_link": link(day=None),
            "refresh_s": self.settings.refresh_s,
        }

    def _render(self, request: Request, name: str, context: dict[str, Any],
                status: int = 200) -> Response:  # fmt: skip
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["cache-control"] = "no-store"
        return response

    # --- handlers ---------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        """The dashboard, or the login."""
        return RedirectResponse("/dashboard", 303)

    async def login_page(self, request: Request) -> Response:
        """The login form (straight to the dashboard with a session)."""
        if self.signed_in(request):
            return RedirectResponse("/dashboard", 303)
        return self._render(request, "login.html", {"error": "", "next": _safe_next(request)})

    async def login(self, request: Request) -> Response:
        """Check the password; a session cookie and the page asked for, or 401."""
        size = request.headers.get("content-length", "0")
        if not size.isdigit() or int(size) > MAX_FORM:
            raise HTTPException(413, "the form is too large")
        body = (await request.body())[:MAX_FORM].decode("utf-8", "replace")
        form = parse_qs(body, max_num_fields=8)
        password = (form.get("password") or [""])[0]
        target = _safe_next_value((form.get("next") or ["/dashboard"])[0])
        now = time.monotonic()
        while self.failures and now - self.failures[0] > 60:
            self.failures.popleft()
        if len(self.failures) >= FAILURES_PER_MINUTE:
            return self._render(request, "login.html", {
                "error": "Too many wrong passwords: wait a minute, then try again.",
                "next": target}, 429)  # fmt: skip
        ok = await run_in_threadpool(check_password, password, self.creds.password_hash)
        if not ok:
            self.failures.append(now)
            log.warning("dashboard: a wrong password from %s",
                        request.client.host if request.client else "?")  # fmt: skip
            return self._render(request, "login.html",
                                {"error": "Wrong password.", "next": target}, 401)  # fmt: skip
        response = RedirectResponse(target, 303)
        response.set_cookie(COOKIE, self.sessions.issue(), max_age=self.sessions.max_age_s,
                            httponly=True, samesite="strict",
                            secure=self.settings.secure_cookie)  # fmt: skip
        return response

    async def logout(self, request: Request) -> Response:
        """Forget the session."""
        response = RedirectResponse("/login", 303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    async def page(self, request: Request) -> Response:
        """The whole dashboard."""
        if not self.signed_in(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), 303)
        data = await run_in_threadpool(self._load, *self._filters(request))
        return self._render(request, "dashboard.html", self._context(request, data))

    def _need_session(self, request: Request) -> None:
        if not self.signed_in(request):
            raise HTTPException(401, "log in first")

    async def live(self, request: Request) -> Response:
        """The page's sections, for the poller."""
        self._need_session(request)
        data = await run_in_threadpool(self._load, *self._filters(request))
        return self._render(request, "_live.html", self._context(request, data))

    async def json(self, request: Request) -> Response:
        """The dashboard's data as JSON (money in minor units)."""
        self._need_session(request)
        data = await run_in_threadpool(self._load, *self._filters(request))
        plain = _plain(data)
        plain["online"], plain["pending"] = data.online, data.pending
        return JSONResponse(plain, headers={"cache-control": "no-store"})

    async def chart(self, request: Request) -> Response:
        """Sales per hour as SVG (the first currency's, when there are several)."""
        self._need_session(request)
        data = await run_in_threadpool(self._load, *self._filters(request))
        currency, bars = min(data.hours.items(), default=("CAD", queries.empty_hours()))
        return Response(hours_svg(bars, currency), media_type="image/svg+xml",
                        headers={"cache-control": "no-store"})  # fmt: skip

    async def healthz(self, request: Request) -> Response:
        """Liveness for a monitor: says nothing about the data."""
        return PlainTextResponse("ok")

    # --- errors -----------------------------------------------------------------------------

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """An HTTPException as a short page (or text for the poller and scripts)."""
        assert isinstance(exc, HTTPException)
        return self._error(request, exc.status_code, exc.detail)

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        """The database cannot be reached: 503, the page retries."""
        log.warning("dashboard: %s", exc)
        return self._error(request, 503, "The database cannot be reached; retrying.")

    async def crashed(self, request: Request, exc: Exception) -> Response:
        """A bug: logged with its trace, answered without one."""
        log.error("dashboard: %s %s failed", request.method, request.url.path, exc_info=exc)
        return self._error(request, 500, "Something went wrong; it has been logged.")

    def _error(self, request: Request, status: int, detail: str) -> Response:
        messages = {404: "No such page.", 405: "That method is not allowed here."}
        text = messages.get(status, detail)
        wants_html = "text/html" in request.headers.get("accept", "")
        if not wants_html or request.url.path.startswith(("/dashboard/", "/dashboard.json")):
            return PlainTextResponse(text, status, headers={"cache-control": "no-store"})
        return self._render(request, "error.html", {"status": status, "message": text}, status)


def _safe_next_value(target: str) -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target if target.isprintable() and len(target) < 512 else "/dashboard"


def _safe_next(request: Request) -> str:
    return _safe_next_value(request.query_params.get("next", "/dashboard"))


def create_app(
    db: Database,
    creds: Credentials,
    settings: WebSettings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    today: Callable[[], date] | None = None,
) -> Starlette:
    """The dashboard app over `db`, behind the password in `creds`."""
    handlers = Dashboard(db, creds, settings or WebSettings(), clock,
                         today or (lambda: clock().astimezone().date()))  # fmt: skip
    routes = [
        Route("/", handlers.root),
        Route("/login", handlers.login_page, methods=["GET"]),
        Route("/login", handlers.login, methods=["POST"]),
        Route("/logout", handlers.logout, methods=["POST"]),
        Route("/dashboard", handlers.page),
        Route("/dashboard/live", handlers.live),
        Route("/dashboard.json", handlers.json),
        Route("/chart.svg", handlers.chart),
        Route("/healthz", handlers.healthz),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: handlers.http_error,
            DatabaseUnavailable: handlers.unavailable,
            Exception: handlers.crashed,
        },
    )
    app.add_middleware(_SecurityHeaders)
    app.state.dashboard = handlers
    return app
