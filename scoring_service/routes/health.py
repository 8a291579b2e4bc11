"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from scoring_service.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="A model is serving and the store answers")
def readyz(state: StateDep, response: Response) -> dict[str, object]:
    problems = []
    if state.model.current is None:
        problems.append(f"model: {state.model.last_error}")
    try:
        with state.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the store is down: not ready
        problems.append(f"store: {exc}")
    if problems:
        response.status_code = 503
        return {"ready": False, "problems": problems}
    return {"ready": True, "model_version": state.model.current.version}


@router.get("/metrics", summary="Prometheus metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
