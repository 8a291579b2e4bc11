"""Policy versions (read; create as admin) and the serving model."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError

from feature_defs.contract import check_policy
from feature_defs.errors import ContractError
from feature_defs.policy import parse_policy
from scoring_service.deps import AdminKey, ScoreKey, StateDep
from scoring_service.routes.leads import _fields_or_default
from scoring_service.schemas import ModelOut, PolicyIn, PolicyOut

router = APIRouter(prefix="/v1", tags=["admin"])


def _out(row: dict) -> PolicyOut:
    return PolicyOut(
        version=int(row["version"]),
        name=row["name"],
        author=row["author"],
        comment=row["comment"],
        created_at=row["created_at"],
        policy=row["body"],
    )


@router.get("/policy", response_model=PolicyOut, summary="The policy version in force")
def get_policy(state: StateDep, _key: ScoreKey) -> PolicyOut:
    state.policy(_fields_or_default(state))  # creates version 1 from the bundled file if needed
    return _out(state.store.latest_policy())


@router.post(
    "/policy",
    response_model=PolicyOut,
    status_code=201,
    summary="Create a new policy version (admin); every worker uses it from the next request",
)
def post_policy(body: PolicyIn, state: StateDep, _key: AdminKey) -> PolicyOut:
    try:
        pol = parse_policy(body.policy)
        check_policy(pol, _fields_or_default(state))
    except ContractError as err:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "policy", *p.split(":", 1)[0].split(".")),
                    "msg": p.split(":", 1)[-1].strip(),
                    "input": None,
                }
                for p in err.problems
            ]
        ) from None
    with state.writing():
        version = state.store.add_policy_version(
            body.policy, author=body.author, comment=body.comment, name=pol.name
        )
    return _out(state.store.get_policy(version))


@router.get("/model", response_model=ModelOut, summary="The serving model, its version and metrics")
def get_model(state: StateDep, _key: ScoreKey) -> ModelOut:
    info = state.model.describe()
    if not info["loaded"]:
        return ModelOut(loaded=False, error=info["error"])
    metrics = {}
    try:
        from mlflow import MlflowClient

        run = MlflowClient().get_run(info["run_id"]) if info.get("run_id") else None
        if run is not None:
            metrics = {
                k: v
                for k, v in run.data.metrics.items()
                if ".test.model." in k or ".test.scorecard." in k or ".test.naive_bayes." in k
            }
    except Exception as exc:  # the registry may be unreachable; the model still serves
        raise HTTPException(502, detail=f"cannot read the model's run: {exc}") from None
    return ModelOut(metrics=metrics, **info)
