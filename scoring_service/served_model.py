"""The champion, held in memory and swapped atomically when the alias moves.

A version that fails to load or fails its smoke check never replaces the one serving; the
failure is logged and the old model keeps answering.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from training.bundle import LeadScoreBundle

log = logging.getLogger("handoff.model")


@dataclass(frozen=True)
class Loaded:
    bundle: LeadScoreBundle
    version: str
    run_id: str | None
    loaded_at: float


def smoke_check(bundle: LeadScoreBundle) -> None:
    """Score and explain a few leads; raise if anything is off (NaN, out of range, additivity)."""
    sample = bundle.metadata.get("smoke_leads")
    if not sample:
        raise ValueError("the bundle carries no smoke_leads sample")
    typed, X = bundle.prepare(pd.DataFrame(sample))
    out = bundle.predict_features(X)
    probs = out[[c for c in out.columns if c.startswith("p_")]].to_numpy()
    if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("smoke check: probabilities outside [0, 1]")
    base, _, points = bundle.explain_features(X)
    if not np.allclose(base + points.sum(axis=1).to_numpy(), out["score"].to_numpy(), atol=1e-6):
        raise ValueError("smoke check: explanation points do not add up to the score")


class ServedModel:
    """Thread-safe holder of the current champion (one per worker process)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._current: Loaded | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def current(self) -> Loaded | None:
        return self._current

    def _alias_version(self) -> tuple[str, str | None] | None:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        if not self.uri.startswith("models:/") or "@" not in self.uri:
            return (self.uri, None)
        name, alias = self.uri.removeprefix("models:/").split("@", 1)
        try:
            mv = MlflowClient().get_model_version_by_alias(name, alias)
        except MlflowException:
            return None
        return str(mv.version), mv.run_id

    def refresh(self) -> bool:
        """Load the version the alias points at if it differs from the one serving."""
        with self._lock:
            try:
                found = self._alias_version()
            except Exception as exc:  # tracking server down: keep serving
                self.last_error = f"cannot reach the model registry: {exc}"
                log.warning(self.last_error)
                return False
            if found is None:
                self.last_error = f"no model at {self.uri}: run `handoff train`"
                return False
            version, run_id = found
            if self._current is not None and self._current.version == version:
                return False
            try:
                from training.register import load_bundle

                bundle = load_bundle(self.uri)
                smoke_check(bundle)
            except Exception as exc:
                self.last_error = f"model version {version} rejected: {exc}"
                log.error(self.last_error)
                return False
            self._current = Loaded(bundle, version, run_id, time.time())  # the atomic swap
            self.last_error = None
            log.info("serving %s version %s", self.uri, version)
            return True

    def watch(self, every: float, stop: threading.Event) -> threading.Thread:
        def loop() -> None:
            while not stop.wait(every):
                self.refresh()

        t = threading.Thread(target=loop, name="model-watch", daemon=True)
        t.start()
        return t

    def describe(self) -> dict[str, Any]:
        cur = self._current
        if cur is None:
            return {"loaded": False, "error": self.last_error}
        return {
            "loaded": True,
            "version": cur.version,
            "run_id": cur.run_id,
            "feature_set": cur.bundle.feature_set_key,
            "policy": cur.bundle.policy,
            "score_head": cur.bundle.score_head,
            "heads": list(cur.bundle.heads),
        }
