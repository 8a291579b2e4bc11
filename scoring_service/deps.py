"""What routes need, as named dependencies: the store, the model, the policy, the caller's key."""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import func, select
from sqlalchemy.pool import QueuePool

from feature_defs.contract import check_policy
from feature_defs.policy import Policy, parse_policy
from scoring_service.active_policy import ensure_policy
from scoring_service.config import Settings
from scoring_service.security import ApiKey, find_key
from scoring_service.served_model import Loaded, ServedModel
from scoring_service.store import Store
from scoring_service.store.tables import policy_versions

log = logging.getLogger("handoff.api")

LATEST_VERSION_SQL = "SELECT max(version) FROM policy_versions"


class VersionProbe:
    """``SELECT max(version) FROM policy_versions`` on a database connection of its own.

    The policy in force must be re-read on every request (a new version applies from the next
    request in every worker), but reading it through the pool costs a checkout, a BEGIN (and a
    pre-ping on PostgreSQL) and the whole policy body: 0.1-0.6 ms on SQLite, 1-5 ms on
    PostgreSQL. This asks only for the version number, in autocommit mode (each query sees the
    latest commit), on one connection detached from the pool and shared under a lock: ~5 us on
    SQLite, one round trip on PostgreSQL. Policies are cached by version, so the body is read
    once per version.
    """

    def __init__(self, store: Store) -> None:
        fairy = store.engine.raw_connection()
        try:
            fairy.detach()  # ours now: the pool neither counts, resets nor hands it out
            conn: Any = fairy.dbapi_connection
            if store.dialect == "postgresql":
                conn.rollback()  # the pre-ping may have opened a transaction
                conn.autocommit = True
            elif getattr(conn, "isolation_level", None) is not None:
                conn.isolation_level = None  # SQLite: autocommit, as the store's connections
        except BaseException:
            fairy.close()
            raise
        self._fairy = fairy
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def usable(cls, store: Store) -> bool:
        """Only for pooled databases (a file or a server); an in-memory SQLite database is one
        connection per thread, where a connection of its own would see another database."""
        return isinstance(store.engine.pool, QueuePool)

    def latest_version(self) -> int | None:
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute(LATEST_VERSION_SQL)
                row = cur.fetchone()
            finally:
                cur.close()
        return None if row is None or row[0] is None else int(row[0])

    def close(self, *, broken: bool = False) -> None:
        """Release the connection; ``broken``: it failed, so close it without the pool's reset
        (a rollback on a dead connection would only log an error)."""
        with self._lock:
            if self._fairy.dbapi_connection is None:
                return
            if not broken:
                try:
                    self._fairy.close()
                    return
                except Exception:  # noqa: BLE001, S110 - closed below, without the reset
                    pass
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001, S110 - already unusable: nothing to release
                pass
            self._fairy.invalidate()  # detached: this only disarms the proxy


@dataclass
class AppState:
    settings: Settings
    store: Store
    model: ServedModel
    keys: list[ApiKey]
    _policies: dict[int, Policy] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _probe: VersionProbe | None = None
    _probe_lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

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
        """The latest policy version, checked on every request so a new one applies at once.

        Each request asks the store for the latest version number only (``latest_version``);
        the policy itself is parsed and checked once per version and cached.
        """
        version = self.latest_version()
        if version is None:
            with self.writing():  # one request creates version 1, the others then read it
                ensure_policy(self.store, fields)
            version = self.latest_version()
            if version is None:  # pragma: no cover - ensure_policy stored one
                raise RuntimeError("the store holds no policy version")
        hit = self._policies.get(version)
        if hit is not None:
            return version, hit
        with self._lock:
            if version not in self._policies:
                row = self.store.get_policy(version)
                src = f"policy version {version}"
                self._policies[version] = check_policy(
                    parse_policy(row["body"], source=src), fields, source=src
                )
            return version, self._policies[version]

    def policy_at_once(self) -> tuple[int, Policy] | None:
        """``policy`` when it can answer without waiting, for code on the event loop: the
        store is a SQLite file (the version check is a WAL read of a few microseconds, which
        never waits for writers) and that version is already parsed. Otherwise None: creating
        version 1, reading a new version's body, a PostgreSQL round trip or a probe to reopen
        belong in the thread pool, with ``policy``."""
        if self.store.dialect != "sqlite":
            return None
        probe = self._probe or self._open_probe()
        if probe is None:
            return None
        try:
            version = probe.latest_version()
        except Exception:  # noqa: BLE001 - ``policy`` reports it, and reopens the probe
            return None
        hit = None if version is None else self._policies.get(version)
        return None if hit is None else (version, hit)  # type: ignore[return-value]

    def latest_version(self) -> int | None:
        """The newest stored policy version (None if there is none): the probe's answer, or the
        store's (through the pool, whose errors the app maps to 503) when the probe is not
        available or fails; a failed probe is replaced on the next request."""
        probe = self._probe or self._open_probe()
        if probe is not None:
            try:
                return probe.latest_version()
            except Exception as exc:  # connection lost (server restart, idle timeout, ...)
                log.warning("policy version probe failed, reopening it: %s", exc)
                self._drop_probe(probe)
        return self.latest_version_pooled()

    def latest_version_pooled(self) -> int | None:
        """``latest_version`` through the store's pool: the general path."""
        with self.store.engine.connect() as conn:
            value = conn.execute(select(func.max(policy_versions.c.version))).scalar()
        return None if value is None else int(value)

    def _open_probe(self) -> VersionProbe | None:
        if self._closed or not VersionProbe.usable(self.store):
            return None
        with self._probe_lock:
            if self._probe is None and not self._closed:
                try:
                    self._probe = VersionProbe(self.store)
                except Exception as exc:  # the store is down: the pooled path reports it
                    log.warning("cannot open the policy version probe: %s", exc)
                    return None
            return self._probe

    def _drop_probe(self, probe: VersionProbe) -> None:
        with self._probe_lock:
            if self._probe is probe:
                self._probe = None
        probe.close(broken=True)

    def close(self) -> None:
        """Release the probe's connection (at shutdown, before the store is disposed)."""
        with self._probe_lock:
            self._closed = True
            probe, self._probe = self._probe, None
        if probe is not None:
            probe.close()


# The dependencies below are ``async`` on purpose: they only read memory, and FastAPI runs a
# plain ``def`` dependency in the thread pool (a thread hop per dependency and request, each
# ~0.1 ms and a wake-up of another thread). Endpoints that touch the store stay ``def``.


async def get_state(request: Request) -> AppState:
    return request.app.state.handoff


StateDep = Annotated[AppState, Depends(get_state)]


async def get_store(state: StateDep) -> Store:
    return state.store


async def get_model(state: StateDep) -> Loaded:
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

    async def check(
        state: StateDep, key: Annotated[str | None, Security(api_key_header)]
    ) -> ApiKey:
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
