"""The FastAPI app: lifespan (store, model, keys), limits, errors, routes.

Start it with `handoff serve` (uvicorn; workers configurable). Tests build it with
``create_app(settings)`` and swap dependencies through ``app.dependency_overrides``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SqlPoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feature_defs.errors import ContractError
from scoring_service.config import Settings, get_settings
from scoring_service.deps import AppState
from scoring_service.fast_score import ScoreFastPath
from scoring_service.prometheus import LATENCY, REQUESTS
from scoring_service.routes import admin, events, health, leads, sla
from scoring_service.security import parse_keys
from scoring_service.served_model import ServedModel
from scoring_service.store import Store, StoreError

log = logging.getLogger("handoff.api")


class BodyLimit:
    """413 for bodies over the limit, checked on Content-Length and on the bytes received."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._too_large(send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return msg

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        resp = JSONResponse({"detail": f"request body larger than {self.limit} bytes"}, 413)
        await resp({"type": "http"}, None, send)  # type: ignore[arg-type]


class _TooLarge(Exception):
    pass


class Observe:
    """Prometheus request count and latency per route, as a plain ASGI middleware.

    (``@app.middleware("http")`` would wrap every request in Starlette's BaseHTTPMiddleware: a
    task group and memory streams per request, a measurable share of a 1 ms budget.) A request
    whose handler raises is not counted here, as with the decorator form: the server error
    middleware outside answers it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, sending)
        route = scope.get("route")
        path = getattr(route, "path", "unmatched")
        REQUESTS.labels(scope["method"], path, str(status)).inc()
        LATENCY.labels(scope["method"], path).observe(time.perf_counter() - start)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from threadpoolctl import threadpool_limits

        from training.register import configure_tracking

        threadpool_limits(1)  # one BLAS/OpenMP thread per worker: single-lead work is tiny
        configure_tracking()
        store = Store.open(settings.database_url)
        model = ServedModel(settings.model_uri)
        model.refresh()
        stop = threading.Event()
        model.watch(settings.model_reload_seconds, stop)
        app.state.handoff = AppState(
            settings=settings, store=store, model=model, keys=parse_keys(settings.key_entries())
        )
        yield
        stop.set()
        app.state.handoff.close()
        store.dispose()

    app = FastAPI(
        title="handoff scoring service",
        version="1",
        description="Scores, SLA tiers and deadlines at lead creation; rep feedback in.",
        lifespan=lifespan,
    )
    if settings.fast_score:  # innermost: inside CORS, metrics and the body limit
        app.add_middleware(ScoreFastPath)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
        )

    app.add_middleware(Observe)

    @app.exception_handler(ContractError)
    async def contract_error(_: Request, exc: ContractError) -> JSONResponse:
        return JSONResponse({"detail": exc.problems}, 422)

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(SqlPoolTimeout)
    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # the database is locked past its busy timeout, unreachable, or out of connections: a
        # retry is safe, since lead and event writes are idempotent on lead_id and event_id
        log.error("store unavailable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "the lead store is busy or unreachable; retry (writes are idempotent)"},
            503,
            headers={"Retry-After": "1"},
        )

    for r in (leads.router, events.router, sla.router, admin.router, health.router):
        app.include_router(r)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
