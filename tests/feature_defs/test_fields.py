"""Lead fields: loading, and record validation with row/column/rule messages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from feature_defs.errors import ContractError
from feature_defs.fields import load_fields

GOOD = {
    "lead_id": "L1",
    "created_at": "2026-03-02T09:15:00+01:00",
    "source": "demo_request",
    "sector": "manufacturing",
    "employee_band": "50-249",
    "country": "FR",
    "email_domain_type": "corporate",
    "job_function": "finance",
    "seniority": "c_level",
}


def test_default_fields_cover_the_b2b_set(contract) -> None:
    f = contract.fields
    for name in (
        "source",
        "sector",
        "employee_band",
        "country",
        "annual_revenue_band",
        "job_function",
        "seniority",
        "email_domain_type",
        "bant_budget",
        "bant_authority",
        "bant_need",
        "bant_timeline",
        "page_views",
        "downloads",
        "email_clicks",
        "webinar_attended",
        "pricing_page_visits",
        "days_since_last_activity",
        "created_at",
    ):
        assert name in f, name
        assert f[name].known_at == "creation"
    assert set(f["source"].allowed) == {
        "demo_request",
        "contact_form",
        "webinar",
        "whitepaper_download",
        "paid_search",
        "trade_show",
        "partner_referral",
        "outbound_campaign",
    }
    assert set(f["email_domain_type"].allowed) == {"corporate", "free_mail", "competitor"}
    assert f["rejection_reason"].known_at == "after_contact"
    assert f["first_contact_at"].known_at == "after_contact"


def test_coerce_types_good_records(contract) -> None:
    raw = pd.DataFrame(
        [{**GOOD, "page_views": "12", "webinar_attended": "yes", "pricing_page_visits": 3.0}]
    )
    out = contract.fields.coerce(raw)
    assert out.loc[0, "created_at"] == pd.Timestamp("2026-03-02T08:15:00Z")
    assert out.loc[0, "page_views"] == 12 and str(out["page_views"].dtype) == "Int64"
    assert bool(out.loc[0, "webinar_attended"]) is True
    assert pd.isna(out.loc[0, "downloads"])  # optional and absent -> null
    assert out.loc[0, "source"] == "demo_request"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"source": "fax"}, "row 0, column 'source': must be one of demo_request"),
        ({"employee_band": None}, "row 0, column 'employee_band': is required"),
        ({"country": "France"}, "row 0, column 'country': must match pattern [A-Z]{2}"),
        ({"page_views": -3}, "row 0, column 'page_views': must be >= 0 (got -3)"),
        ({"downloads": "2.5"}, "row 0, column 'downloads': must be a whole number"),
        ({"email_clicks": "many"}, "row 0, column 'email_clicks': must be a number"),
        ({"webinar_attended": "perhaps"}, "column 'webinar_attended': must be a boolean"),
        ({"created_at": "2026-03-02 09:15"}, "column 'created_at': must carry a timezone offset"),
        ({"created_at": "yesterday"}, "column 'created_at': must be an ISO 8601 date-time"),
        ({"colour": "red"}, "unknown column(s) 'colour'"),
    ],
)
def test_coerce_names_row_column_and_rule(contract, change, expected) -> None:
    rec = {**GOOD, **change}
    with pytest.raises(ContractError) as err:
        contract.fields.coerce(pd.DataFrame([GOOD, rec]))
    assert expected.replace("row 0", "row 1") in str(err.value)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "fields.yaml"
    p.write_text(text)
    return p


BASE = """name: acme
version: 1
fields:
  - {name: lead_id, dtype: string, required: true, known_at: creation, description: identifier}
  - {name: created_at, dtype: datetime, required: true, known_at: creation, description: creation time}
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "  - {name: tier, dtype: category, known_at: creation, description: tier}\n",
            "fields[2] 'tier': Value error, a category field needs a non-empty 'allowed' list",
        ),
        (
            "  - {name: Tier, dtype: string, known_at: creation, description: tier}\n",
            "fields[2] 'Tier'.name: must be snake_case",
        ),
        (
            "  - {name: x, dtype: text, known_at: creation, description: xxx}\n",
            "fields[2] 'x'.dtype: Input should be 'string'",
        ),
        (
            "  - {name: x, dtype: string, known_at: later, description: xxx}\n",
            "fields[2] 'x'.known_at: Input should be 'creation' or 'after_contact'",
        ),
        (
            "  - {name: lead_id, dtype: string, known_at: creation, description: again}\n",
            "field names must be unique; repeated: lead_id",
        ),
        (
            "  - {name: n, dtype: integer, known_at: creation, description: num, range: {min: 5, max: 1}}\n",
            "fields[2] 'n'.range: Value error, min (5.0) must be <= max (1.0)",
        ),
    ],
)
def test_bad_field_files_name_the_key_and_rule(tmp_path, extra, expected) -> None:
    with pytest.raises(ContractError) as err:
        load_fields(_write(tmp_path, BASE + extra))
    msg = str(err.value).replace("Value error, ", "")
    assert "fields.yaml" in msg
    assert expected.replace("Value error, ", "") in msg


def test_invalid_yaml_names_the_line(tmp_path) -> None:
    with pytest.raises(ContractError) as err:
        load_fields(_write(tmp_path, BASE + "  - {name: x, dtype: [\n"))
    assert "line " in str(err.value) and "invalid YAML" in str(err.value)


def test_id_and_created_at_must_be_declared(tmp_path) -> None:
    with pytest.raises(ContractError) as err:
        load_fields(_write(tmp_path, BASE.replace("created_at", "signup_at", 1)))
    assert "'created_at' must be declared as a field" in str(err.value)
