"""CRM import: mappings, typed values, all-or-nothing validation and idempotent re-imports."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from feature_defs.contract import Contract
from feature_defs.errors import ContractError
from scoring_service.crm_import import (
    ColumnRule,
    Keywords,
    apply_rule,
    import_csv,
    load_mapping,
    parse_datetimes,
)
from scoring_service.store import Store

DATA = Path(__file__).parent / "data"
HUBSPOT = DATA / "hubspot_contacts.csv"
SALESFORCE = DATA / "salesforce_leads.csv"
EVENTS = DATA / "handoff_events.csv"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store for tests that need no second backend."""
    store = Store.open("sqlite:///" + str(tmp_path / "t.db"))
    yield store
    store.dispose()


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def set_cell(rows: list[list[str]], record_id: str, column: str, value: str) -> None:
    col = rows[0].index(column)
    for row in rows[1:]:
        if row[0] == record_id:
            row[col] = value
            return
    raise KeyError(record_id)


def write_mapping(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def lead(store: Store, lead_id: str) -> dict:
    found = store.get_lead(lead_id)
    assert found is not None, lead_id
    return found


# --------------------------------------------------------------------------------------------
# Bundled mappings on the fixtures
# --------------------------------------------------------------------------------------------


def test_hubspot_export_imports_with_typed_values(db: Store, contract: Contract) -> None:
    report = import_csv(db, HUBSPOT, "hubspot_contacts", contract=contract, progress=False)

    assert (report.kind, report.rows, report.inserted, report.skipped) == ("leads", 20, 20, 0)
    assert db.count("leads") == 20
    # "Chargée de mission" matches no keyword of either list; "Product Manager" no function one
    assert report.defaulted == {"job_function": 2, "seniority": 1}

    marie = lead(db, "101")
    assert marie["created_at"] == utc("2024-03-05 09:14")  # 10:14 in Paris, winter time
    assert marie["origin"] == "import:hubspot_contacts"
    assert marie["fields"] == {
        "source": "contact_form",  # ORGANIC_SEARCH
        "campaign": "google",
        "company_name": "Acme Industrie",
        "sector": "manufacturing",  # "Industrial Automation"
        "employee_band": "50-249",  # 120
        "country": "FR",
        "annual_revenue_band": "10m_50m",  # 25,000,000
        "email": "marie.martin@acme-industrie.fr",
        "email_domain_type": "corporate",
        "job_title": "Directrice Financière",
        "job_function": "finance",
        "seniority": "vp_director",
        "page_views": 14,
        "downloads": 2,
    }
    pierre = lead(db, "102")["fields"]
    assert pierre["employee_band"] == "10-49"  # HubSpot dropdown value "5-25"
    assert pierre["email_domain_type"] == "free_mail"
    assert "annual_revenue_band" not in pierre and "company_name" not in pierre  # empty cells
    assert (pierre["job_function"], pierre["seniority"]) == ("accounting", "individual_contributor")
    sophie = lead(db, "103")["fields"]
    assert (sophie["country"], sophie["sector"], sophie["source"]) == (
        "BE",
        "finance_insurance",
        "partner_referral",
    )
    assert (sophie["employee_band"], sophie["annual_revenue_band"]) == ("1000-4999", "gt_250m")
    assert (sophie["job_function"], sophie["seniority"]) == ("finance", "c_level")
    assert lead(db, "104")["fields"]["email_domain_type"] == "competitor"
    # 02:30 on 31 March 2024 does not exist in Paris (clocks jump to 03:00 CEST = 01:00 UTC)
    assert lead(db, "109")["created_at"] == utc("2024-03-31 01:00")
    assert lead(db, "110")["created_at"] == utc("2024-04-02 07:15")  # summer time, UTC+2
    assert lead(db, "111")["fields"]["employee_band"] == "5000+"  # the edge goes up
    assert lead(db, "116")["fields"]["employee_band"] == "1000-4999"  # 4999
    assert lead(db, "106")["fields"]["seniority"] == "student"  # "Étudiant en finance"
    assert lead(db, "112")["fields"]["country"] == "US"
    assert lead(db, "120")["fields"]["employee_band"] == "50-249"  # dropdown "100-500"


def test_salesforce_report_imports_with_typed_values(db: Store, contract: Contract) -> None:
    report = import_csv(db, SALESFORCE, "salesforce_leads", contract=contract, progress=False)

    assert (report.rows, report.inserted, report.skipped) == (12, 12, 0)
    assert report.defaulted == {"sector": 1}  # "Custom Industry XYZ"
    helene = lead(db, "00Q5g00000A1bCdEAF")
    assert helene["created_at"] == utc("2024-03-05 08:30")  # 05/03/2024 09:30, day first
    assert helene["fields"]["source"] == "contact_form"  # Web
    assert (helene["fields"]["job_function"], helene["fields"]["seniority"]) == (
        "finance",
        "c_level",
    )
    assert "owner_rep" not in helene["fields"] and "lead_status" not in helene["fields"]
    david = lead(db, "00Q5g00000A1bCgEAF")["fields"]
    assert "email" not in david and david["email_domain_type"] == "corporate"  # default
    assert david["source"] == "outbound_campaign"  # Purchased List
    ines = lead(db, "00Q5g00000A1bClEAF")["fields"]
    assert (ines["employee_band"], ines["country"], ines["sector"]) == ("5000+", "DE", "other")
    assert (ines["job_function"], ines["seniority"]) == ("operations", "vp_director")
    camille = lead(db, "00Q5g00000A1bCjEAF")["fields"]
    assert (camille["source"], camille["sector"]) == ("demo_request", "healthcare")
    assert lead(db, "00Q5g00000A1bCnEAF")["fields"]["sector"] == "other"
    assert lead(db, "00Q5g00000A1bCmEAF")["fields"]["source"] == "webinar"  # Seminar - Partner


def test_reimport_inserts_nothing(store: Store, contract: Contract) -> None:
    """On each backend of the conftest ``store`` fixture (SQLite, and PostgreSQL when set up)."""
    import_csv(store, HUBSPOT, "hubspot_contacts", contract=contract, progress=False)
    import_csv(store, EVENTS, "handoff_events", contract=contract, progress=False)
    before = (store.count("leads"), store.count("events"))

    leads_again = import_csv(store, HUBSPOT, "hubspot_contacts", contract=contract, progress=False)
    events_again = import_csv(store, EVENTS, "handoff_events", contract=contract, progress=False)

    assert (leads_again.inserted, leads_again.skipped) == (0, 20)
    assert (events_again.inserted, events_again.skipped) == (0, 13)
    assert (store.count("leads"), store.count("events")) == before == (20, 13)


def test_events_import_with_derived_ids(db: Store, contract: Contract) -> None:
    import_csv(db, HUBSPOT, "hubspot_contacts", contract=contract, progress=False)
    report = import_csv(db, EVENTS, "handoff_events", contract=contract, progress=False)

    assert (report.kind, report.rows, report.inserted) == ("events", 13, 13)
    ev = db.read_events(lead_ids=["102"])
    rejected = ev[ev["type"] == "rejected"].iloc[0]
    assert (rejected["reason"], rejected["status"], rejected["next_action"]) == (
        "bad_timing",
        "to_rework",
        "call_back",
    )
    assert rejected["payload"] == {"call_back_months": 6}
    assert rejected["occurred_at"] == utc("2024-03-06 08:30")
    assert len(rejected["event_id"]) == 64  # sha256 hex, as no event_id column is given
    opportunity = db.read_events(types=["opportunity"]).iloc[0]
    assert (opportunity["lead_id"], opportunity["amount"]) == ("103", 48000.0)


def test_handoff_format_round_trip(
    store: Store, db: Store, contract: Contract, tmp_path: Path
) -> None:
    """Leads read back from the store and written in our own format are the same leads: the
    store skips them all, and a fresh store reads them back identical."""
    import_csv(store, HUBSPOT, "hubspot_contacts", contract=contract, progress=False)
    exported = store.read_leads().drop(columns=["origin"])
    path = tmp_path / "handoff_leads.csv"
    exported.to_csv(path, index=False)

    again = import_csv(store, path, "handoff_leads", contract=contract, progress=False)
    fresh = import_csv(db, path, "handoff_leads", contract=contract, progress=False)

    assert (again.rows, again.inserted, again.skipped) == (20, 0, 20)
    assert (fresh.rows, fresh.inserted) == (20, 20)
    copied = db.read_leads().drop(columns=["origin"])
    pd.testing.assert_frame_equal(copied[exported.columns], exported)


# --------------------------------------------------------------------------------------------
# A bad file imports nothing, and says where it is bad
# --------------------------------------------------------------------------------------------


def test_one_bad_row_names_file_line_column_value_rule_and_writes_nothing(
    db: Store, contract: Contract, tmp_path: Path
) -> None:
    rows = read_rows(HUBSPOT)
    set_cell(rows, "105", "Create Date", "2024-13-05")  # record 5: line 6
    path = write_rows(tmp_path / "leads.csv", rows)

    with pytest.raises(ContractError) as err:
        import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    text = str(err.value)
    assert "leads.csv, line 6, column 'Create Date' (created_at): is not a date-time" in text
    assert "(got '2024-13-05')" in text
    assert len(err.value.problems) == 1
    assert db.count("leads") == 0


def test_line_numbers_count_newlines_inside_quoted_cells(
    db: Store, contract: Contract, tmp_path: Path
) -> None:
    rows = read_rows(HUBSPOT)
    set_cell(rows, "103", "Company Name", "Banque\nExemple")  # line 4 spans lines 4-5
    set_cell(rows, "108", "Original Source", "TELEPATHY")  # record 8: physical line 10
    set_cell(rows, "112", "Number of Pageviews", "many")  # record 12: physical line 14
    path = write_rows(tmp_path / "multi.csv", rows)

    with pytest.raises(ContractError) as err:
        import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    problems = err.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("multi.csv, line 10, column 'Original Source' (source): ")
    assert "is not a known value" in problems[0] and "(got 'TELEPATHY')" in problems[0]
    assert "hubspot_contacts.yaml" in problems[0]  # where to fix it
    assert problems[1] == (
        "multi.csv, line 14, column 'Number of Pageviews' (page_views): "
        "must be a number (integer) (got 'many')"
    )
    assert db.count("leads") == 0


def test_ragged_rows_and_blank_lines(db: Store, contract: Contract, tmp_path: Path) -> None:
    text = HUBSPOT.read_text(encoding="utf-8").splitlines()
    # a blank line and a row of empty cells are skipped but still counted
    lines = [*text[:3], "", ",,,", "999,oops", text[3] + ",surplus", *text[4:]]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(ContractError) as err:
        import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    assert err.value.problems == [
        "ragged.csv, line 6: has 2 cells where the header has 19",
        "ragged.csv, line 7: has 20 cells where the header has 19",
    ]
    assert db.count("leads") == 0


def test_duplicate_lead_ids_in_one_file(db: Store, contract: Contract, tmp_path: Path) -> None:
    rows = read_rows(HUBSPOT)
    rows.append(list(rows[3]))  # record 103 again, on line 22
    path = write_rows(tmp_path / "dupes.csv", rows)

    with pytest.raises(ContractError) as err:
        import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    assert str(err.value) == (
        "dupes.csv, line 22, column 'Record ID' (lead_id): repeats the id of line 4 (got '103')"
    )
    assert db.count("leads") == 0


def test_changed_lead_is_refused_naming_the_field(
    db: Store, contract: Contract, tmp_path: Path
) -> None:
    import_csv(db, HUBSPOT, "hubspot_contacts", contract=contract, progress=False)
    rows = read_rows(HUBSPOT)
    set_cell(rows, "113", "Number of Pageviews", "40")  # record 13: line 14
    rows.append(["121", *rows[1][1:]])  # a new lead in the same file is not written either
    path = write_rows(tmp_path / "later.csv", rows)

    with pytest.raises(ContractError) as err:
        import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    text = str(err.value)
    assert text.startswith("later.csv, line 14, column 'Record ID' (lead_id): ")
    assert "page_views: stored 33, file 40" in text
    assert db.count("leads") == 20 and db.get_lead("121") is None


def test_csv_missing_a_mapped_column(db: Store, contract: Contract, tmp_path: Path) -> None:
    rows = read_rows(HUBSPOT)
    drop = rows[0].index("Job Title")
    path = write_rows(tmp_path / "no_title.csv", [r[:drop] + r[drop + 1 :] for r in rows])

    with pytest.raises(ContractError) as err:
        import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    text = str(err.value)
    assert err.value.problems[0] == (
        "no_title.csv: column 'Job Title' is missing (it feeds 'job_title', 'job_function', "
        "'seniority' in hubspot_contacts.yaml)"
    )
    assert "the file's columns are 'Record ID', 'First Name'" in text
    assert db.count("leads") == 0


def test_problem_list_is_capped(db: Store, contract: Contract, tmp_path: Path) -> None:
    rows = read_rows(HUBSPOT)
    header, template = rows[0], rows[1]
    col = header.index("Original Source")
    body = []
    for k in range(60):
        row = [f"9{k:03d}", *template[1:]]
        row[col] = "CARRIER_PIGEON"
        body.append(row)
    path = write_rows(tmp_path / "many.csv", [header, *body])

    with pytest.raises(ContractError) as err:
        import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    problems = err.value.problems
    assert len(problems) == 51
    assert problems[0].startswith("many.csv, line 2, column 'Original Source'")
    assert problems[-1] == "... and 10 more problems"


# --------------------------------------------------------------------------------------------
# Mapping files
# --------------------------------------------------------------------------------------------

SMALL_MAPPING = """\
name: small
kind: leads
description: A few columns of a hand-made export.
columns:
  lead_id: {from: id}
  created_at: {from: created}
  source:
    from: origin
    map: {Web: contact_form, Salon: trade_show}
  sector: {value: other}
  employee_band: {value: "10-49"}
  country: {value: FR}
  email_domain_type: {value: corporate}
  job_function: {value: finance}
  seniority: {value: manager}
"""


def test_unknown_mapping_key_is_named(tmp_path: Path, contract: Contract) -> None:
    path = write_mapping(
        tmp_path / "typo.yaml", SMALL_MAPPING + "  favourite_colour: {from: colour}\n"
    )
    with pytest.raises(ContractError) as err:
        load_mapping(path, contract.fields)
    text = str(err.value)
    assert str(path) in text
    assert "'favourite_colour' not declared in lead fields 'b2b_default'" in text


def test_mapping_missing_a_required_field(tmp_path: Path, contract: Contract) -> None:
    body = SMALL_MAPPING.replace("  seniority: {value: manager}\n", "")
    path = write_mapping(tmp_path / "short.yaml", body)
    with pytest.raises(ContractError) as err:
        load_mapping(path, contract.fields)
    assert str(err.value) == (
        f"{path}: columns: required field 'seniority' is not produced by the mapping"
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{from: origin, value: x}", "give exactly one of 'from' (a CSV column) or 'value'"),
        ("{from: origin, map: {Yes: demo_request}}", "was read as a boolean: quote it"),
        ("{from: origin, keywords: {webinar: [webinar]}}", "'keywords' needs a 'default'"),
        ("{from: origin, map: {Web: web_form}}", "'web_form' is not allowed for 'source'"),
        ("{from: origin, bands: {edges: [1, 2], labels: [a, b]}}", "one label more than edges"),
    ],
)
def test_bad_rules_name_key_and_rule(
    tmp_path: Path, contract: Contract, rule: str, message: str
) -> None:
    body = SMALL_MAPPING.replace(
        "  source:\n    from: origin\n    map: {Web: contact_form, Salon: trade_show}\n",
        f"  source: {rule}\n",
    )
    path = write_mapping(tmp_path / "bad.yaml", body)
    with pytest.raises(ContractError) as err:
        load_mapping(path, contract.fields)
    text = str(err.value)
    assert str(path) in text and "columns.source" in text and message in text


def test_unmapped_picklist_value_is_an_error_without_default(
    db: Store, contract: Contract, tmp_path: Path
) -> None:
    csv_path = tmp_path / "small.csv"
    csv_path.write_text(
        "id,created,origin\n"
        "a1,2024-03-05T10:00:00+01:00,web\n"
        "a2,2024-03-05T11:00:00+01:00,Carrier pigeon\n",
        encoding="utf-8",
    )
    strict = write_mapping(tmp_path / "strict.yaml", SMALL_MAPPING)
    with pytest.raises(ContractError) as err:
        import_csv(db, csv_path, strict, contract=contract, progress=False)
    text = str(err.value)
    assert text.startswith("small.csv, line 3, column 'origin' (source): is not a known value")
    assert "known: Web, Salon" in text and "(got 'Carrier pigeon')" in text
    assert db.count("leads") == 0

    lenient = write_mapping(
        tmp_path / "lenient.yaml",
        SMALL_MAPPING.replace("Salon: trade_show}", "Salon: trade_show}\n    default: webinar"),
    )
    report = import_csv(db, csv_path, lenient, contract=contract, progress=False)
    assert report.inserted == 2 and report.defaulted == {"source": 1}
    assert lead(db, "a1")["fields"]["source"] == "contact_form"  # keys ignore case
    assert lead(db, "a2")["fields"]["source"] == "webinar"


def test_unknown_bundled_name_or_missing_file() -> None:
    with pytest.raises(ContractError, match="neither a file nor a bundled mapping"):
        load_mapping("pipedrive_people")


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


@pytest.fixture
def with_leads(db: Store, contract: Contract) -> Store:
    import_csv(db, HUBSPOT, "hubspot_contacts", contract=contract, progress=False)
    return db


def events_file(tmp_path: Path, line: str) -> Path:
    """The events fixture plus one more event (on line 15)."""
    path = tmp_path / "events.csv"
    path.write_text(EVENTS.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    return path


def test_unknown_rejection_reason_lists_valid_codes(
    with_leads: Store, contract: Contract, tmp_path: Path
) -> None:
    path = events_file(
        tmp_path, "104,rejected,2024-03-07T10:00:00+01:00,Lea,smb,,,,too_expensive,,,,"
    )
    with pytest.raises(ContractError) as err:
        import_csv(with_leads, path, "handoff_events", contract=contract, progress=False)
    text = str(err.value)
    assert text.startswith("events.csv, line 15, column 'reason': must be a rejection reason")
    codes = contract.policy.rejection_codes
    assert ", ".join(codes) in text and "(got 'too_expensive')" in text
    assert with_leads.count("events") == 0


def test_event_for_unknown_lead(with_leads: Store, contract: Contract, tmp_path: Path) -> None:
    path = events_file(tmp_path, "999,accepted,2024-03-07T10:00:00+01:00,Lea,smb,,,,,qualified,,,")
    with pytest.raises(ContractError) as err:
        import_csv(with_leads, path, "handoff_events", contract=contract, progress=False)
    assert str(err.value) == (
        "events.csv, line 15, column 'lead_id': no lead with this id in the store "
        "(import the leads first) (got '999')"
    )
    assert with_leads.count("events") == 0


def test_event_before_its_lead_was_created(
    with_leads: Store, contract: Contract, tmp_path: Path
) -> None:
    # lead 113 was created on 2024-04-05 at 08:00 Paris time
    path = events_file(tmp_path, "113,handed_off,2024-04-05 07:59,Hugo,mid_market,,,,,,,,")
    with pytest.raises(ContractError) as err:
        import_csv(with_leads, path, "handoff_events", contract=contract, progress=False)
    assert str(err.value) == (
        "events.csv, line 15, column 'occurred_at': is before lead '113' was created "
        "(2024-04-05T06:00:00+00:00) (got '2024-04-05 07:59')"
    )
    assert with_leads.count("events") == 0


def test_event_type_status_and_payload_are_checked(
    with_leads: Store, contract: Contract, tmp_path: Path
) -> None:
    path = events_file(
        tmp_path, '104,called,2024-03-07T10:00:00+01:00,Lea,smb,,,-5,,maybe,later,,"[1, 2]"'
    )
    with pytest.raises(ContractError) as err:
        import_csv(with_leads, path, "handoff_events", contract=contract, progress=False)
    problems = "\n".join(err.value.problems)
    assert "line 15, column 'type': must be an event type: handed_off," in problems
    assert "line 15, column 'status': must be a feedback status of the policy" in problems
    assert "line 15, column 'next_action': must be a next action of the policy" in problems
    assert "line 15, column 'duration_s': must be >= 0 (got '-5')" in problems
    assert "line 15, column 'payload': must be a JSON object" in problems


# --------------------------------------------------------------------------------------------
# Large files
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_large_file_imports_completely(db: Store, contract: Contract, tmp_path: Path) -> None:
    rows = read_rows(HUBSPOT)
    header, templates = rows[0], rows[1:]
    n = 30_000
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        for k in range(n):
            row = list(templates[k % len(templates)])
            row[0] = str(100_000 + k)
            out.writerow(row)

    report = import_csv(db, path, "hubspot_contacts", contract=contract, progress=False)

    assert (report.rows, report.inserted, report.skipped) == (n, n, 0)
    assert db.count("leads") == n
    last = lead(db, str(100_000 + n - 1))  # spans the 20,000-row chunk boundary
    assert last["fields"]["job_title"] == templates[(n - 1) % len(templates)][6]


# --------------------------------------------------------------------------------------------
# Pure pieces
# --------------------------------------------------------------------------------------------


def test_keywords_leftmost_longest_whole_words() -> None:
    kw = Keywords(
        {
            "c_level": ["cfo", "cto", "president", "directeur administratif et financier"],
            "vp_director": ["director", "vice president", "directeur"],
            "finance": ["financ*"],
        }
    )
    assert kw.match("Finance Director") == "finance"  # leftmost keyword wins
    assert kw.match("Director") == "vp_director"  # 'cto' is not a word of 'director'
    assert kw.match("Vice President") == "vp_director"  # longer match at the same place
    assert kw.match("DIRECTEUR ADMINISTRATIF ET FINANCIER") == "c_level"
    assert kw.match("Directrice Financière") == "finance"  # accents and prefixes
    assert kw.match("Office manager") is None


def test_rules_bands_email_and_defaults() -> None:
    bands = ColumnRule.model_validate(
        {
            "from": "n",
            "map": {"1000+": "big"},
            "bands": {"edges": [10, 50], "labels": ["s", "m", "l"]},
        }
    )
    res = apply_rule(
        bands,
        pd.Series(["9", "10", "49.5", "50", "1000+", "", "lots"]),
        target="x",
        mapping="m.yaml",
    )
    assert res.values.tolist() == ["s", "m", "m", "l", "big", None, None]
    assert res.bad == [
        (6, "is neither a known value nor a number to fall in a band of edges ['10', '50']")
    ]

    email = ColumnRule.model_validate(
        {
            "from": "e",
            "default": "corporate",
            "email_domain": {"free": ["gmail.com"], "competitor": ["rival.io"]},
        }
    )
    res = apply_rule(
        email,
        pd.Series(["a@GMAIL.com", "b@eu.rival.io", "c@acme.fr", "", "no-address"]),
        target="x",
        mapping="m.yaml",
    )
    assert res.values.tolist() == ["free_mail", "competitor", "corporate", "corporate", "corporate"]
    assert res.defaulted == 1 and res.bad == []


def test_parse_datetimes_local_offsets_and_strictness() -> None:
    values = pd.Series(
        [
            "2024-03-05 10:14",
            "2024-07-01T10:00:00Z",
            "2024-03-05T10:14:00+02:00",
            "2024-13-05",
            "",
            None,
        ]
    )
    parsed, bad = parse_datetimes(values, timezone="Europe/Paris")
    assert parsed.iloc[0] == utc("2024-03-05 09:14")
    assert parsed.iloc[1] == utc("2024-07-01 10:00")
    assert parsed.iloc[2] == utc("2024-03-05 08:14")
    assert bad.tolist() == [False, False, False, True, False, False]
    assert parsed.iloc[3:].isna().all()

    dmy, bad = parse_datetimes(
        pd.Series(["05/03/2024 10:14", "31/03/2024 09:00"]), timezone="UTC", dayfirst=True
    )
    assert dmy.tolist() == [utc("2024-03-05 10:14"), utc("2024-03-31 09:00")] and not bad.any()
    fixed, bad = parse_datetimes(
        pd.Series(["03/05/2024", "2024-03-05"]), timezone="UTC", datetime_format="%m/%d/%Y"
    )
    assert fixed.iloc[0] == utc("2024-03-05") and bad.tolist() == [False, True]
