"""``POST /v1/score`` answered below FastAPI for the plain request; every other one goes on.

Why: scoring one lead costs about 2-3 ms of CPU here, and FastAPI's per-request machinery
(routing over every route, solving the dependencies, reading and validating the body as a
model field) adds about 1 ms more, the whole HTTP budget of issue 4. This ASGI layer sits
inside the app's middleware (body limit, metrics, CORS) and answers a request only when
nothing about it can fail: a JSON object body sent as ``application/json``, an API key with
the ``score`` scope, a model serving, no dependency overrides, and fields that pass the
route's own checks. It then calls the route's own function (``leads.score_response``), so the
answer is the route's, byte for byte. Anything else, including every error, is handed to the
FastAPI route with the body replayed, so errors keep FastAPI's exact responses and messages.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring_service.prometheus import FAST_SCORE
from scoring_service.routes import leads
from scoring_service.security import find_key

log = logging.getLogger("handoff.api")

PATH = "/v1/score"
SCOPE = "score"
_ANSWERED, _DECLINED = FAST_SCORE.labels("answered"), FAST_SCORE.labels("declined")


class ScoreFastPath:
    """ASGI middleware: ``POST /v1/score`` without FastAPI for requests that cannot fail."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route = _score_route()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            return await self.app(scope, receive, send)
        messages, body = await _read(receive)
        replay = _replaying(messages, receive)
        response = None
        if body is not None:
            try:
                response = await self._answer(scope, body)
            except RequestValidationError:
                response = None  # the route names the problem
            except Exception as exc:  # noqa: BLE001 - the route raises it again, and reports it
                log.debug("fast path declined %s: %r", PATH, exc)
                response = None
        if response is None:
            _DECLINED.inc()
            return await self.app(scope, replay, send)
        _ANSWERED.inc()
        scope["route"] = self._route  # what the router would set (the metrics label)
        await response(scope, replay, send)

    async def _answer(self, scope: Scope, body: bytes) -> Response | None:
        """The route's response, or None when the route itself must answer."""
        app: FastAPI | None = scope.get("app")
        if app is None or app.dependency_overrides:
            return None
        state = getattr(app.state, "handoff", None)
        if state is None:
            return None
        content_type = key = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"x-api-key" and key is None:
                key = value
        if content_type is None or not _is_json(content_type) or not key:
            return None
        found = find_key(state.keys, key.decode("latin-1"))
        if found is None or SCOPE not in found.scopes:
            return None
        model = state.model.current
        if model is None:
            return None
        record: Any = json.loads(body)  # as Starlette's Request.json()
        if not isinstance(record, dict):
            return None
        return await leads.score_response(state, model, record)


def _is_json(content_type: bytes) -> bool:
    """``application/json`` with or without parameters: a type FastAPI reads as JSON."""
    main = content_type.split(b";", 1)[0].strip().lower()
    return main == b"application/json"


async def _read(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Every message up to the body's end; the body, or None if the client went away first."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        msg = await receive()
        messages.append(msg)
        if msg["type"] != "http.request":
            return messages, None
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body", False):
            return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives the messages already read, then the client's next ones."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _score_route() -> BaseRoute:
    """The route FastAPI would match (its path labels the request's metrics)."""
    for route in leads.router.routes:
        if getattr(route, "endpoint", None) is leads.score_one and route.path == PATH:
            return route
    raise LookupError(f"no route for {PATH}")  # pragma: no cover - a renamed endpoint
