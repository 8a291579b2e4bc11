"""Feature sets: leakage guard, declarative transforms (hand-computed), one path for both uses."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from feature_defs.errors import ContractError
from feature_defs.features import MISSING, OTHER, LeadFeaturizer, load_feature_set
from feature_defs.fields import load_fields

FIELDS = """name: acme_crm
version: 3
id_field: ref
created_at_field: signup_time
fields:
  - {name: ref, dtype: string, required: true, known_at: creation, description: CRM key}
  - {name: signup_time, dtype: datetime, required: true, known_at: creation, description: signup}
  - {name: channel, dtype: category, known_at: creation, description: channel,
     allowed: [web, event, phone, referral]}
  - {name: headcount, dtype: integer, known_at: creation, description: employees,
     range: {min: 0}}
  - {name: tier_size, dtype: category, ordered: true, known_at: creation, description: size,
     allowed: [small, medium, large]}
  - {name: trial_user, dtype: boolean, known_at: creation, description: on a trial}
  - {name: title, dtype: string, known_at: creation, description: job title}
  - {name: deal_stage, dtype: string, known_at: after_contact, description: set by sales}
"""

FEATURES = """name: acme_scoring
version: 2
fields: fields.yaml
features:
  - {name: channel, from: channel, kind: categorical, min_count: 2, description: channel}
  - {name: log_headcount, from: headcount, kind: numeric, clip: [0, 1000], log: true,
     fill: median, description: size}
  - {name: headcount_raw, from: headcount, kind: numeric, description: raw size, fill: 7}
  - {name: size_rank, from: tier_size, kind: ordinal, description: ordered size}
  - {name: trial, from: trial_user, kind: boolean, description: trial}
  - {name: signup_hour, from: signup_time, kind: date_part, part: hour,
     timezone: Europe/Paris, description: hour}
  - {name: signup_weekend, from: signup_time, kind: date_part, part: is_weekend,
     timezone: Europe/Paris, description: weekend}
  - {name: finance_title, from: title, kind: keyword_flag, keywords: [financ, cfo],
     description: finance title}
"""


def write_set(tmp_path: Path, features: str = FEATURES, fields: str = FIELDS) -> Path:
    (tmp_path / "fields.yaml").write_text(fields)
    p = tmp_path / "features.yaml"
    p.write_text(features)
    return p


def test_after_contact_field_never_becomes_a_feature(tmp_path) -> None:
    bad = FEATURES + "  - {name: stage, from: deal_stage, kind: categorical, description: leak}\n"
    with pytest.raises(ContractError) as err:
        load_feature_set(write_set(tmp_path, bad))
    msg = str(err.value)
    assert "features[8] 'stage'.from: field 'deal_stage' is known_at: after_contact" in msg
    assert "features.yaml" in msg


def test_default_set_refuses_rejection_reason(contract) -> None:
    data = yaml.safe_load(contract.feature_set.path.read_text())
    data["features"].append(
        {"name": "why", "from": "rejection_reason", "kind": "categorical", "description": "leak"}
    )
    p = contract.feature_set.path.parent / "_tmp_leak_test.yaml"
    try:
        p.write_text(yaml.safe_dump(data))
        with pytest.raises(ContractError, match="field 'rejection_reason' is known_at"):
            load_feature_set(p)
    finally:
        p.unlink(missing_ok=True)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "  - {name: x, from: colour, kind: categorical, description: xxx}\n",
            "field 'colour' is not declared in lead fields 'acme_crm'",
        ),
        (
            "  - {name: x, from: ref, kind: categorical, description: xxx}\n",
            "field 'ref' is the lead identifier and cannot be a feature",
        ),
        (
            "  - {name: x, from: title, kind: numeric, description: xxx}\n",
            "a numeric feature needs a field of dtype float or integer; 'title' is string",
        ),
        (
            "  - {name: x, from: channel, kind: ordinal, description: xxx}\n",
            "an ordinal feature needs a field declared 'ordered: true'",
        ),
        (
            "  - {name: x, from: headcount, kind: numeric, log: true, description: xxx}\n",
            "log needs clip with a low bound >= 0",
        ),
        (
            "  - {name: channel, from: channel, kind: categorical, description: xxx}\n",
            "feature names must be unique; repeated: channel",
        ),
        (
            "  - {name: x, from: signup_time, kind: date_part, part: minute, description: xxx}\n",
            "part: Input should be 'hour'",
        ),
        (
            "  - {name: x, from: title, kind: embedding, description: xxx}\n",
            "does not match any of the expected tags",
        ),
    ],
)
def test_bad_feature_sets(tmp_path, extra, expected) -> None:
    with pytest.raises(ContractError) as err:
        load_feature_set(write_set(tmp_path, FEATURES + extra))
    assert expected in str(err.value)


def _acme_leads(fields) -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "ref": ["a", "b", "c", "d", "e"],
            "signup_time": [
                "2026-03-28T23:30:00+00:00",  # Sunday 00:30 in Paris (CET, UTC+1)
                "2026-03-30T07:00:00+00:00",  # Monday 09:00 (CEST, UTC+2)
                "2026-06-01T12:00:00+02:00",
                "2026-06-02T12:00:00+02:00",
                "2026-06-03T12:00:00+02:00",
            ],
            "channel": ["web", "web", "event", "phone", None],
            "headcount": [0, 99, None, 5000, 9],
            "tier_size": ["small", "large", None, "medium", "small"],
            "trial_user": ["yes", "no", None, "true", "0"],
            "title": ["Directrice Financière", "CFO", "IT manager", None, "Contrôleur FINANCIER"],
        }
    )
    return fields.coerce(raw)


def test_featurizer_values_by_hand(tmp_path) -> None:
    fs = load_feature_set(write_set(tmp_path))
    leads = _acme_leads(fs.fields)
    X = LeadFeaturizer(fs).fit(leads).transform(leads)
    assert list(X.columns) == [f.name for f in fs.features]
    # channel: only 'web' is seen twice (min_count 2); others are rare; None is missing
    assert list(X["channel"]) == ["web", "web", OTHER, OTHER, MISSING]
    assert list(X["channel"].cat.categories) == ["web", OTHER, MISSING]
    # headcount median of [0, 99, 5000, 9] = 54 fills the missing one, then clip and log1p
    assert X["log_headcount"].tolist() == pytest.approx(
        [0.0, math.log1p(99), math.log1p(54), math.log1p(1000), math.log1p(9)]
    )
    assert X["headcount_raw"].tolist() == [0, 99, 7, 5000, 9]
    # ranks small=0, medium=1, large=2; missing -> median of [0, 2, 1, 0] = 0.5
    assert X["size_rank"].tolist() == [0, 2, 0.5, 1, 0]
    assert X["trial"].tolist() == [1, 0, 0, 1, 0]
    assert X["signup_hour"].tolist() == [0, 9, 12, 12, 12]
    assert X["signup_weekend"].tolist() == [1, 0, 0, 0, 0]
    assert X["finance_title"].tolist() == [1, 1, 0, 0, 1]  # accent- and case-insensitive


def test_unseen_level_at_serving_is_other(tmp_path) -> None:
    fs = load_feature_set(write_set(tmp_path))
    f = LeadFeaturizer(fs).fit(_acme_leads(fs.fields))
    one = fs.fields.coerce(
        pd.DataFrame([{"ref": "z", "signup_time": "2026-06-01T12:00:00Z", "channel": "referral"}])
    )
    X = f.transform(one)
    assert X.loc[0, "channel"] == OTHER
    assert X.loc[0, "log_headcount"] == pytest.approx(math.log1p(54))


def test_transform_before_fit_is_a_clear_error(tmp_path) -> None:
    fs = load_feature_set(write_set(tmp_path))
    with pytest.raises(RuntimeError, match="not fitted"):
        LeadFeaturizer(fs).transform(_acme_leads(fs.fields))


def test_another_company_csv_with_yaml_only(tmp_path) -> None:
    """A different CRM's columns, described in YAML alone, load, validate and featurize."""
    fs = load_feature_set(write_set(tmp_path))
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "ref,signup_time,channel,headcount,tier_size,trial_user,title\n"
        "r1,2026-01-05T10:00:00+01:00,web,12,small,yes,CFO\n"
        "r2,2026-01-06T15:30:00+01:00,event,250,medium,no,Head of IT\n"
        "r3,2026-01-07T08:00:00+01:00,web,,large,,\n"
    )
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    X = LeadFeaturizer(fs).fit_transform(fs.fields.coerce(raw))
    assert X.shape == (3, 8)
    assert X["finance_title"].tolist() == [1, 0, 0]
    assert fs.key == "acme_scoring@2"


def test_training_and_serving_paths_are_identical(tmp_path, contract) -> None:
    """Store read (training) and one-JSON-body-at-a-time (serving) give the same features."""
    from scoring_service.store import Store
    from training.demo_history import generate

    history = generate(contract, seed=11, months=3, n_leads=1500)
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    store.add_leads(history.leads, origin="demo")
    stored = store.read_leads().sort_values("lead_id").reset_index(drop=True)
    fields = contract.fields
    train_leads = fields.coerce(stored[[c for c in stored.columns if c in fields]])
    featurizer = LeadFeaturizer(contract.feature_set).fit(train_leads)
    batch = featurizer.transform(train_leads)

    rows = []
    for rec in history.leads.sort_values("lead_id").to_dict("records"):
        body = json.loads(pd.Series(rec).to_json(date_format="iso"))  # what the API receives
        body = {k: v for k, v in body.items() if v is not None}
        rows.append(featurizer.transform(fields.coerce(pd.DataFrame([body]))))
    served = pd.concat(rows, ignore_index=True)
    for col in batch.columns:
        if isinstance(batch[col].dtype, pd.CategoricalDtype):
            assert served[col].astype(str).tolist() == batch[col].astype(str).tolist(), col
        else:
            np.testing.assert_array_equal(served[col].to_numpy(), batch[col].to_numpy(), col)
    store.dispose()


def test_fields_file_alone_loads(tmp_path) -> None:
    write_set(tmp_path)
    assert load_fields(tmp_path / "fields.yaml").id_field == "ref"
