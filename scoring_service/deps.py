"""What routes need, as named dependencies: the store, the model, the policy, the caller's key."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from feature_defs.contract import check_policy
from feature_defs.policy import Policy, parse_policy
from scoring_service.active_policy import ensure_policy
from scoring_service.config import Settings
from scoring_service.security import ApiKey, find_key
from scoring_service.served_model import Loaded, ServedModel
from scoring_service.store import Store


@dataclass
class AppState:
    settings: Settings
    store: Store
    model: ServedModel
    keys: list[ApiKey]
    _policies: dict[int, Policy] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _write_lock: threading.Lock = field(default_factory=threading.Lock)

    def writing(self) -> AbstractContextManager[object]:
        """Hold around every store write of a request.

        SQLite has one writer at a time: without this, each of a worker's ~40 request threads
        queues on the database lock itself, and under load (the lock holder fighting those
        threads for the GIL) a wait outlives the busy timeout: "database is locked", a 500.
        With it, at most one thread per worker process waits on SQLite. PostgreSQL locks rows,
        so there it is a no-op.
        """
        return self._write_lock if self.store.dialect == "sqlite" else nullcontext()

    def policy(self, fields) -> tuple[int, Policy]:  # noqa: ANN001 - FieldSet
        """The latest policy version, read on every request so a new one applies at once."""
        latest = self.store.latest_policy()
        if latest is None:
            with self.writing():  # one request creates version 1, the others then read it
                ensure_policy(self.store, fields)
            latest = self.store.latest_policy()
        version = int(latest["version"])
        with self._lock:
            if version not in self._policies:
                src = f"policy version {version}"
                self._policies[version] = check_policy(
                    parse_policy(latest["body"], source=src), fields, source=src
                )
            return version, self._policies[version]


def get_state(request: Request) -> AppState:
    return request.app.state.handoff


StateDep = Annotated[AppState, Depends(get_state)]


def get_store(state: StateDep) -> Store:
    return state.store


def get_model(state: StateDep) -> Loaded:
    cur = state.model.current
    if cur is None:
        raise HTTPException(503, detail=f"no model is serving: {state.model.last_error}")
    return cur


StoreDep = Annotated[Store, Depends(get_store)]
ModelDep = Annotated[Loaded, Depends(get_model)]

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key; scopes: score, feedback, admin"
)


def require(scope: str):  # noqa: ANN201 - a FastAPI dependency
    """A dependency that admits callers whose key carries ``scope``: 401 without, 403 wrong."""

    def check(state: StateDep, key: Annotated[str | None, Security(api_key_header)]) -> ApiKey:
        if not key:
            raise HTTPException(
                401,
                detail="missing API key: send it in the X-API-Key header",
                headers={"WWW-Authenticate": "APIKey"},
            )
        found = find_key(state.keys, key)
        if found is None:
            raise HTTPException(
                401, detail="unknown API key", headers={"WWW-Authenticate": "APIKey"}
            )
        if scope not in found.scopes:
            raise HTTPException(403, detail=f"this API key lacks the '{scope}' scope")
        return found

    return check


ScoreKey = Annotated[ApiKey, Depends(require("score"))]
FeedbackKey = Annotated[ApiKey, Depends(require("feedback"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
