"""Time-based validation: train on older months, calibrate on newer, test on the latest.

When the data has no timestamps, a stratified random split is the fallback, with a warning,
because a random split flatters a model whenever behaviour drifts over time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # boolean masks over the labelled rows
    calibrate: np.ndarray
    test: np.ndarray
    kind: str  # "time" or "random"
    boundaries: dict[str, str]

    def describe(self) -> str:
        sizes = (
            f"train {self.train.sum():,}, calibrate {self.calibrate.sum():,}, "
            f"test {self.test.sum():,}"
        )
        if self.kind == "time":
            b = self.boundaries
            return (
                f"time split: train < {b['calibrate_from']} <= calibrate < {b['test_from']} "
                f"<= test <= {b['test_to']} ({sizes})"
            )
        return f"stratified random split 60/20/20 ({sizes})"


def time_split(
    created_at: pd.Series | None,
    y: np.ndarray,
    *,
    test_months: int = 3,
    calibrate_months: int = 3,
    seed: int = 0,
) -> Split:
    """Split labelled rows by creation time, or randomly (stratified) without timestamps."""
    n = len(y)
    if created_at is None or created_at.isna().all():
        warnings.warn(
            "no timestamps: falling back to a stratified random split; metrics may be optimistic "
            "if behaviour drifts over time",
            stacklevel=2,
        )
        idx = np.arange(n)
        train, rest = train_test_split(idx, test_size=0.4, stratify=y, random_state=seed)
        cal, test = train_test_split(rest, test_size=0.5, stratify=y[rest], random_state=seed)
        masks = [np.isin(idx, part) for part in (train, cal, test)]
        return Split(*masks, kind="random", boundaries={})
    t = pd.to_datetime(created_at, utc=True).reset_index(drop=True)
    end = t.max()
    test_from = end - pd.DateOffset(months=test_months)
    cal_from = test_from - pd.DateOffset(months=calibrate_months)
    test = (t > test_from).to_numpy()
    cal = ((t > cal_from) & (t <= test_from)).to_numpy()
    train = (t <= cal_from).to_numpy()
    return Split(
        train,
        cal,
        test,
        kind="time",
        boundaries={
            "calibrate_from": str(cal_from.date()),
            "test_from": str(test_from.date()),
            "test_to": str(end.date()),
        },
    )
