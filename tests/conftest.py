"""Shared fixtures: the default contract and one small demo history, built once per session."""

from __future__ import annotations

import os

# 2 cores: keep every test process single-threaded in BLAS/OpenMP (pytest -n 2 gives parallelism).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

from feature_defs.contract import Contract, load_contract  # noqa: E402


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load_contract()
