"""A realistic, deterministic lead history with known ground truth (``handoff demo-data``).

The setting is the case of the domain texts: a SaaS vendor selling finance software to finance
directors, two sales teams, an SLA with hot/warm/cold deadlines. The mechanics (arrivals, rep
queues in business time, speed-to-lead decay, reasons that follow the lead's weak point,
superficial touches, edge cases, a points-scorecard handoff with a random exploration share) are
documented in ``training/demo_history.md``. Everything is drawn from one ``numpy`` generator
seeded by ``seed``, so the same seed and end date give the same history.

The true probabilities are returned separately (``DemoHistory.ground_truth``) and are never lead
fields, so model quality can be compared with the best achievable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from feature_defs.business_time import BusinessCalendar
from feature_defs.contract import Contract
from feature_defs.sla import assign_tier, due_at, exclusion_reasons, route_team, scorecard_points

DEFAULT_END = date(2026, 11, 1)
HOUR_US = 3_600_000_000
DAY_LEN_H = 7.5  # a typical business day of the default calendar, for service times
OPPORTUNITY_WINDOW_DAYS = 90
SLA_START_MONTHS = 6  # the SLA with its exclusions starts this many months into the history
PRE_SLA_THRESHOLD = 40  # before the SLA, marketing handed off far more (and no exclusions)
PRE_SLA_DROP = 0.35  # ... and sales never called back more than a third of them
PARTNER_ONLY_COUNTRIES = ("MA", "CA")

SOURCES = {  # share of arrivals, effect on the true opportunity logit
    "demo_request": (0.07, 1.5),
    "contact_form": (0.09, 1.0),
    "webinar": (0.16, 0.15),
    "whitepaper_download": (0.22, -0.35),
    "paid_search": (0.16, 0.05),
    "trade_show": (0.07, 0.45),
    "partner_referral": (0.05, 0.9),
    "outbound_campaign": (0.18, -0.1),
}
BANDS = {  # employee band: share, logit effect, revenue index, deal size factor
    "1-9": (0.12, -1.3, 0, 0.4),
    "10-49": (0.24, -0.45, 1, 0.7),
    "50-249": (0.30, 0.35, 2, 1.0),
    "250-999": (0.18, 0.55, 3, 1.8),
    "1000-4999": (0.11, 0.4, 3, 3.0),
    "5000+": (0.05, 0.05, 4, 5.0),
}
REVENUE = ["lt_1m", "1m_10m", "10m_50m", "50m_250m", "gt_250m"]
SECTORS = {
    "finance_insurance": (0.10, 0.5),
    "manufacturing": (0.16, 0.25),
    "retail": (0.10, -0.1),
    "business_services": (0.17, 0.4),
    "public_sector": (0.06, -1.0),
    "healthcare": (0.07, -0.2),
    "tech_software": (0.12, 0.15),
    "construction": (0.07, 0.0),
    "transport_logistics": (0.06, 0.05),
    "education": (0.04, -1.2),
    "other": (0.05, -0.4),
}
COUNTRIES = {
    "FR": 0.70,
    "BE": 0.07,
    "CH": 0.05,
    "LU": 0.02,
    "DE": 0.02,
    "ES": 0.02,
    "IT": 0.015,
    "NL": 0.01,
    "MA": 0.04,
    "CA": 0.03,
    "US": 0.015,
    "GB": 0.01,
    "SN": 0.01,
}
FUNCTIONS = {
    "finance": (0.34, 0.6),
    "accounting": (0.15, 0.3),
    "general_management": (0.12, 0.4),
    "it": (0.10, -0.25),
    "operations": (0.08, -0.3),
    "sales_marketing": (0.08, -0.5),
    "hr": (0.05, -0.6),
    "other": (0.08, -0.5),
}
SENIORITY = {
    "student": (0.04, -3.0),
    "individual_contributor": (0.30, -0.45),
    "manager": (0.30, 0.0),
    "vp_director": (0.22, 0.4),
    "c_level": (0.14, 0.45),
}
BUDGET = {"confirmed": 0.8, "planned": 0.4, "none": -1.0, "unknown": -0.1}
AUTHORITY = {"decision_maker": 0.5, "influencer": 0.1, "none": -0.7, "unknown": -0.1}
NEED = {"urgent": 0.8, "identified": 0.4, "exploring": -0.35, "unknown": -0.1}
TIMELINE = {"lt_3m": 0.7, "3_6m": 0.4, "6_12m": 0.0, "gt_12m": -0.8, "unknown": -0.2}
TITLES = {
    ("finance", "c_level"): ["CFO", "DAF", "Directeur administratif et financier"],
    ("finance", "vp_director"): ["Directeur financier", "Finance Director", "VP Finance"],
    ("finance", "manager"): ["Responsable financier", "Contrôleur de gestion", "Finance manager"],
    ("finance", "individual_contributor"): ["Analyste financier", "Financial analyst"],
    ("accounting", "c_level"): ["Directeur comptable"],
    ("accounting", "vp_director"): ["Directrice comptable", "Head of Accounting"],
    ("accounting", "manager"): ["Chef comptable", "Responsable comptabilité"],
    ("accounting", "individual_contributor"): ["Comptable", "Accountant"],
    ("general_management", "c_level"): ["CEO", "Directeur général", "Gérant"],
    ("general_management", "vp_director"): ["Directeur des opérations", "COO"],
    ("it", "c_level"): ["CTO", "DSI"],
    ("it", "vp_director"): ["Directeur des systèmes d'information"],
    ("it", "manager"): ["Responsable informatique", "IT manager"],
    ("student", "student"): ["Étudiant en finance", "Student", "Alternant contrôle de gestion"],
}
FIRST_NAMES = [
    "marie",
    "pierre",
    "sophie",
    "julien",
    "claire",
    "nicolas",
    "emma",
    "lucas",
    "chloe",
    "thomas",
    "manon",
    "antoine",
    "julie",
    "maxime",
    "laura",
    "alexandre",
]
LAST_NAMES = [
    "martin",
    "bernard",
    "dubois",
    "thomas",
    "robert",
    "richard",
    "petit",
    "durand",
    "leroy",
    "moreau",
    "simon",
    "laurent",
    "lefebvre",
    "michel",
    "garcia",
    "roux",
]
FREE_DOMAINS = ["gmail.com", "yahoo.fr", "hotmail.fr", "orange.fr", "outlook.com"]
COMPETITOR_DOMAINS = ["finsoft-rival.com", "ledgerpro.io"]
CAMPAIGNS = {
    "webinar": ["webinar-cloture-mensuelle", "webinar-tresorerie-2026"],
    "whitepaper_download": ["lb-guide-daf-digital", "lb-prevision-tresorerie"],
    "paid_search": ["sea-logiciel-finance", "sea-consolidation"],
    "outbound_campaign": ["campagne-outbound-eti", "campagne-relance-q"],
    "trade_show": ["salon-daf-paris", "salon-compta-lyon"],
}


@dataclass(frozen=True)
class RepTraits:
    """How one demo rep behaves. Not in the policy: the policy says what was agreed."""

    leniency: float  # logit shift when deciding to accept a lead that will not convert
    reaction_h: float  # business hours before a rep looks at a new lead, on average
    capacity: float  # first contacts a day the rep actually manages
    superficial: float  # share of accepted leads that get one short call and nothing more
    reason_skip: float  # share of rejections logged without a reason
    drop: float  # share of leads never worked at all
    explicit_accept: float  # share of acceptances logged explicitly (else only the first action)


DEMO_REPS = {
    "Camille": RepTraits(0.6, 1.0, 2.4, 0.0, 0.02, 0.01, 0.9),
    "Hugo": RepTraits(1.2, 3.0, 1.6, 0.35, 0.10, 0.04, 0.5),
    "Ines": RepTraits(-0.6, 2.0, 2.0, 0.0, 0.01, 0.02, 0.95),
    "Lea": RepTraits(0.3, 0.75, 2.4, 0.0, 0.03, 0.01, 0.85),
    "Nathan": RepTraits(1.0, 4.0, 1.3, 0.4, 0.15, 0.06, 0.4),
    "Sarah": RepTraits(-0.3, 1.5, 2.0, 0.0, 0.02, 0.02, 0.9),
    "Tom": RepTraits(0.0, 2.5, 1.6, 0.05, 0.05, 0.03, 0.7),
}


@dataclass(frozen=True)
class DemoHistory:
    leads: pd.DataFrame  # declared lead fields, typed (one row per lead)
    events: pd.DataFrame  # store event columns
    scores: pd.DataFrame  # the historical scorecard score of each lead, as stored at creation
    ground_truth: pd.DataFrame  # true probabilities and hidden flags, never features
    decisions: pd.DataFrame  # the edge-case decision log

    @property
    def end(self) -> pd.Timestamp:
        return self.events["occurred_at"].max()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _choice(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    keys = list(table)
    p = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], dtype=float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _effect(table: dict, values: np.ndarray) -> np.ndarray:
    lookup = {k: (v[1] if isinstance(v, tuple) else v) for k, v in table.items()}
    return np.array([lookup[v] for v in values], dtype=float)


def rep_traits(reps: list[str], seed: int) -> dict[str, RepTraits]:
    """The demo reps' traits; reps unknown to the demo get seeded random traits."""
    out = {}
    for name in reps:
        if name in DEMO_REPS:
            out[name] = DEMO_REPS[name]
            continue
        h = int(hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()[:8], 16)
        r = np.random.default_rng(h)
        out[name] = RepTraits(
            float(r.normal(0, 0.6)),
            float(r.uniform(0.5, 4)),
            float(r.uniform(2.5, 4.5)),
            float(r.choice([0.0, 0.0, 0.3])),
            float(r.uniform(0, 0.1)),
            float(r.uniform(0, 0.05)),
            float(r.uniform(0.4, 1.0)),
        )
    return out


# --- arrivals ---------------------------------------------------------------------------------
def daily_arrivals(
    days: pd.DatetimeIndex, working: np.ndarray, n_leads: int, rng: np.random.Generator
) -> np.ndarray:
    """Leads per day: weekday pattern, August dip, end-of-quarter peaks, noise.

    On working days the default scale (10,000 leads over 18 months) gives 5 to 50 a day.
    """
    weekday = np.array([1.05, 1.15, 1.1, 1.0, 0.8, 0.12, 0.08])[days.weekday]
    month = days.month.to_numpy()
    august = np.where(month == 8, 0.45, 1.0)
    quarter_end = np.isin(month, (3, 6, 9, 12)) & (days.day.to_numpy() >= 10)
    peak = np.where(quarter_end, 1.45, 1.0)
    closed = np.where(~working & (days.weekday < 5), 0.15, 1.0)  # public holidays
    shape = weekday * august * peak * closed
    noise = rng.gamma(5.0, 1 / 5.0, size=len(days))
    lam = shape * noise
    lam *= n_leads / lam.sum()
    counts = rng.poisson(lam)
    scale = n_leads / 10_000 * (548 / max(len(days), 1))
    lo, hi = max(1, round(5 * scale)), max(2, round(50 * scale))
    counts = np.where(working, np.clip(counts, lo, hi), np.minimum(counts, hi // 5))
    return counts


# --- the generator ----------------------------------------------------------------------------
def arrival_times(
    cal: BusinessCalendar,
    end: pd.Timestamp,
    months: int,
    n_leads: int,
    rng: np.random.Generator,
) -> pd.DatetimeIndex:
    """Creation times of about ``n_leads`` leads over the ``months`` before ``end`` (local
    midnight, exclusive): ``daily_arrivals`` per day, 80% in office hours, the rest at any hour;
    UTC, whole seconds, sorted."""
    days = pd.date_range(end - pd.DateOffset(months=months), end - pd.Timedelta(days=1), freq="D")
    noon = days + pd.Timedelta(hours=11)
    working = np.array([cal.is_working_time(t.to_pydatetime()) for t in noon])
    counts = daily_arrivals(days, working, n_leads, rng)
    n = int(counts.sum())
    day_idx = np.repeat(np.arange(len(days)), counts)
    office = rng.random(n) < 0.8
    hour = np.where(office, rng.uniform(8.0, 19.0, n), rng.uniform(0.0, 24.0, n))
    created_local = days[day_idx] + pd.to_timedelta(hour * 3600, unit="s")
    created = pd.DatetimeIndex(created_local).tz_convert("UTC").floor("s")
    return created[np.argsort(created.asi8, kind="stable")]


def generate(
    contract: Contract,
    *,
    seed: int = 7,
    months: int = 18,
    n_leads: int = 10_000,
    end: date = DEFAULT_END,
    progress: Callable[[str], None] | None = None,
) -> DemoHistory:
    """Generate ``months`` of history ending at ``end`` (exclusive), about ``n_leads`` leads."""
    say = progress or (lambda _msg: None)
    policy = contract.policy
    cal = policy.business_calendar()
    rng = np.random.default_rng(seed)
    tz = policy.calendar.timezone

    # 1. arrivals ---------------------------------------------------------------------------
    say("arrivals")
    end_ts = pd.Timestamp(end, tz=tz)
    start_ts = end_ts - pd.DateOffset(months=months)
    created = arrival_times(cal, end_ts, months, n_leads, rng)
    n = len(created)

    # 2. lead attributes --------------------------------------------------------------------
    say("lead attributes")
    source = _choice(rng, SOURCES, n)
    band = _choice(rng, BANDS, n)
    sector = _choice(rng, SECTORS, n)
    country = _choice(rng, COUNTRIES, n)
    function = _choice(rng, FUNCTIONS, n)
    seniority = _choice(rng, SENIORITY, n)
    small = np.isin(band, ("1-9", "10-49"))
    # small companies have more executives filling in forms themselves
    promote = small & (rng.random(n) < 0.10) & (seniority != "student")
    seniority = np.where(promote, "c_level", seniority)
    student = seniority == "student"
    function = np.where(student, "finance", function)
    rev_idx = np.clip(
        _effect({k: (0, v[2]) for k, v in BANDS.items()}, band).astype(int)
        + rng.choice([-1, 0, 0, 0, 1], n),
        0,
        4,
    )
    revenue = np.asarray(REVENUE, dtype=object)[rev_idx]
    revenue = np.where(rng.random(n) < 0.15, None, revenue)
    domain_u = rng.random(n)
    free_p = np.where(student | small, 0.3, 0.07)
    email_domain_type = np.where(
        domain_u < 0.012,
        "competitor",
        np.where(domain_u < 0.012 + free_p, "free_mail", "corporate"),
    ).astype(object)
    existing = (rng.random(n) < 0.045) & (email_domain_type == "corporate")

    intent = rng.normal(0, 1, n) + _effect({k: (0, v[1]) for k, v in SOURCES.items()}, source)

    def pick(levels: list[str], logits: np.ndarray) -> np.ndarray:
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        u = rng.random(n)[:, None]
        idx = (u > np.cumsum(p, axis=1)).sum(axis=1)
        return np.asarray(levels, dtype=object)[np.minimum(idx, len(levels) - 1)]

    i = intent[:, None]
    budget = pick(
        list(BUDGET),
        np.column_stack([0.7 * i[:, 0] - 1.0, 0.3 * i[:, 0], -0.5 * i[:, 0] - 0.5, np.zeros(n)]),
    )
    senior_rank = _effect(
        {"student": 0, "individual_contributor": 1, "manager": 2, "vp_director": 3, "c_level": 4},
        seniority,
    )
    s = senior_rank[:, None][:, 0]
    authority = pick(
        list(AUTHORITY), np.column_stack([s - 2.5, np.ones(n) * 0.5, 1.5 - s, np.zeros(n) - 0.3])
    )
    need = pick(
        list(NEED),
        np.column_stack([0.8 * i[:, 0] - 1.2, 0.4 * i[:, 0], -0.3 * i[:, 0], np.zeros(n) - 0.5]),
    )
    timeline = pick(
        list(TIMELINE),
        np.column_stack(
            [
                0.7 * i[:, 0] - 0.8,
                0.3 * i[:, 0],
                np.zeros(n),
                -0.5 * i[:, 0] - 0.4,
                np.zeros(n) - 0.5,
            ]
        ),
    )
    engagement = np.exp(0.45 * intent + rng.normal(0, 0.5, n))
    page_views = rng.poisson(6 * engagement)
    downloads = rng.poisson(0.8 * engagement) + (source == "whitepaper_download")
    email_clicks = rng.poisson(1.5 * engagement)
    webinar_attended = (source == "webinar") & (rng.random(n) < 0.65) | (rng.random(n) < 0.06)
    pricing = rng.poisson(np.clip(0.5 * engagement * (intent > 0.3) + 0.1, 0, 20))
    days_inactive = rng.geometric(np.clip(0.25 * engagement, 0.01, 0.9)) - 1

    # 3. the truth ---------------------------------------------------------------------------
    say("ground truth")
    z = (
        -3.9
        + _effect(SOURCES, source)
        + _effect({k: (0, v[1]) for k, v in BANDS.items()}, band)
        + _effect(SECTORS, sector)
        + _effect(FUNCTIONS, function)
        + _effect(SENIORITY, seniority)
        + _effect(BUDGET, budget)
        + _effect(AUTHORITY, authority)
        + _effect(NEED, need)
        + _effect(TIMELINE, timeline)
        + 0.35 * np.minimum(pricing, 4) ** 0.7
        + 0.12 * np.log1p(page_views)
        - 0.3 * np.log1p(days_inactive)
        - 0.5 * (email_domain_type == "free_mail")
        + 0.3 * (webinar_attended & np.isin(function, ("finance", "accounting")))
        + 0.6 * (small & (seniority == "c_level"))  # the executive of a small firm
        - 0.4 * np.isin(country, PARTNER_ONLY_COUNTRIES)
        - 3.0 * (email_domain_type == "competitor")
    )
    p_opp0 = _sigmoid(z)

    # duplicates: a later copy of an earlier lead, which sales rejects as such
    dup = np.zeros(n, dtype=bool)
    dup_of = np.full(n, -1)
    cand = np.flatnonzero(rng.random(n) < 0.02)
    cand = cand[cand > 50]
    for j in cand:
        k = int(rng.integers(max(0, j - 400), j))
        dup[j], dup_of[j] = True, k
    for arr in (
        source,
        band,
        sector,
        country,
        function,
        seniority,
        revenue,
        email_domain_type,
        budget,
        authority,
        need,
        timeline,
    ):
        arr[dup] = arr[dup_of[dup]]
    existing[dup] = existing[dup_of[dup]]
    p_opp0 = np.where(dup, 0.002, p_opp0)

    # contact details (free text the score must ignore)
    first = np.asarray(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.asarray(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    company_no = rng.integers(1, 4000, n)
    company_no[dup] = company_no[dup_of[dup]]
    company = np.array([f"Société {c:04d}" for c in company_no], dtype=object)
    corp_domain = np.array(
        [
            f"societe{c:04d}.{cc.lower()}"
            if cc not in ("US", "GB", "CA")
            else f"company{c:04d}.com"
            for c, cc in zip(company_no, country)
        ],
        dtype=object,
    )
    domain = np.where(
        email_domain_type == "free_mail",
        np.asarray(FREE_DOMAINS, dtype=object)[rng.integers(0, len(FREE_DOMAINS), n)],
        np.where(
            email_domain_type == "competitor",
            np.asarray(COMPETITOR_DOMAINS, dtype=object)[rng.integers(0, 2, n)],
            corp_domain,
        ),
    )
    email = np.array([f"{a}.{b}@{d}" for a, b, d in zip(first, last, domain)], dtype=object)
    email[dup] = email[dup_of[dup]]
    titles = []
    for f, sn in zip(function, seniority):
        key = ("student", "student") if sn == "student" else (f, sn)
        opts = TITLES.get(key)
        if opts is None:
            opts = [f"{sn.replace('_', ' ').title()} {f.replace('_', ' ')}"]
        titles.append(opts[int(rng.integers(0, len(opts)))])
    job_title = np.asarray(titles, dtype=object)
    job_title[rng.random(n) < 0.08] = None
    campaign = np.array(
        [CAMPAIGNS[s][int(rng.integers(0, 2))] if s in CAMPAIGNS else None for s in source],
        dtype=object,
    )

    lead_ids = np.array([f"L{seed:03d}-{k:06d}" for k in range(n)], dtype=object)
    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "created_at": created,
            "source": source,
            "campaign": campaign,
            "company_name": company,
            "sector": sector,
            "employee_band": band,
            "country": country,
            "annual_revenue_band": revenue,
            "duplicate_email": pd.array(dup, dtype="boolean"),
            "is_existing_customer": pd.array(existing, dtype="boolean"),
            "email": email,
            "email_domain_type": email_domain_type,
            "job_title": job_title,
            "job_function": function,
            "seniority": seniority,
            "bant_budget": budget,
            "bant_authority": authority,
            "bant_need": need,
            "bant_timeline": timeline,
            "page_views": pd.array(page_views, dtype="Int64"),
            "downloads": pd.array(downloads, dtype="Int64"),
            "email_clicks": pd.array(email_clicks, dtype="Int64"),
            "webinar_attended": pd.array(webinar_attended, dtype="boolean"),
            "pricing_page_visits": pd.array(pricing, dtype="Int64"),
            "days_since_last_activity": pd.array(days_inactive, dtype="Int64"),
        }
    )
    keep = [c for c in leads.columns if c in contract.fields]
    leads = leads[keep]

    # 4. the historical handoff: scorecard + exclusions + exploration --------------------------
    say("handoff decisions")
    points = scorecard_points(leads, policy)
    excluded = exclusion_reasons(leads, policy)
    # the SLA (and its exclusions) was signed SLA_START_MONTHS into the history: before that,
    # students and competitors were handed off like anyone else, and sales rejected them
    pre_sla = created < (start_ts + pd.DateOffset(months=SLA_START_MONTHS)).tz_convert("UTC")
    rule_out = (excluded != None) & ~pre_sla  # noqa: E711
    threshold = np.where(pre_sla, PRE_SLA_THRESHOLD, policy.handoff_threshold)
    above = (points >= threshold) & ~rule_out
    eligible_below = ~above & ~rule_out
    explore = eligible_below & (rng.random(n) < policy.exploration_share)

    # edge cases (domain text: up to ~20% of volume)
    exec_small = small & (seniority == "c_level")
    partner_country = np.isin(country, PARTNER_ONLY_COUNTRIES)
    other_division = existing & (rng.random(n) < 0.45)
    edge = np.full(n, None, dtype=object)
    edge[exec_small] = "executive_below_size_rule"
    edge[partner_country] = "partner_only_country"
    edge[other_division] = "other_division_of_customer"
    # escalated edge cases: the decision pair hands some excluded customer divisions to sales
    escalated = (
        other_division & rule_out & (excluded == "existing_customer") & (rng.random(n) < 0.5)
    )
    handed = above | explore | escalated
    propensity = np.where(above, 1.0, np.where(explore, policy.exploration_share, 0.0))
    propensity = np.where(escalated & ~above & ~explore, 1.0, propensity)
    tier = assign_tier(points, policy)
    tier = np.where(handed & (tier == None), policy.tiers[-1].name, tier)  # noqa: E711
    tier = np.where(handed, tier, None)
    due = due_at(leads["created_at"], tier, source, policy, cal)
    team = route_team(leads, policy)

    # 5. reps: assignment and FIFO queues in business time -------------------------------------
    say("rep queues")
    teams = {t.name: t.reps for t in policy.capacity.teams}
    traits = rep_traits([r for t in policy.capacity.teams for r in t.reps], seed)
    rep = np.full(n, None, dtype=object)
    for tname, reps in teams.items():
        idx = np.flatnonzero(handed & (team == tname))
        w = np.array([traits[r].capacity for r in reps])
        rep[idx] = np.asarray(reps, dtype=object)[
            rng.choice(len(reps), size=len(idx), p=w / w.sum())
        ]
    b_created = cal.business_us(leads["created_at"])
    b_first = np.full(n, -1, dtype=np.int64)
    # the team grows with the lead flow: the default (10,000 leads in 18 months) is scale 1
    capacity_scale = max(1.0, n_leads / months / (10_000 / 18))
    dropped = handed & (rng.random(n) < np.array([traits[r].drop if r else 0 for r in rep]))
    # before the SLA, more than a third of the handed-off leads were never called back
    dropped |= handed & pre_sla & (rng.random(n) < PRE_SLA_DROP)
    for r, tr in traits.items():
        idx = np.flatnonzero((rep == r) & ~dropped)
        service = int(DAY_LEN_H / (tr.capacity * capacity_scale) * HOUR_US)
        free_at = 0
        react = (rng.gamma(2.0, tr.reaction_h / 2.0, len(idx)) * HOUR_US).astype(np.int64)
        jitter = rng.integers(0, service // 2 + 1, len(idx))
        for k, j in enumerate(idx):  # FIFO: a backlog delays everything behind it
            start = max(int(b_created[j]) + int(react[k]) + 60_000_000, free_at) + int(jitter[k])
            b_first[j] = start
            free_at = start + service
    worked = b_first >= 0
    delay_h = np.where(worked, (b_first - b_created) / HOUR_US, np.nan)

    # 6. outcomes ------------------------------------------------------------------------------
    say("outcomes")
    sup_share = np.array([traits[r].superficial if r else 0.0 for r in rep])
    superficial = worked & (rng.random(n) < sup_share)
    decay = 0.72 + 0.28 * np.exp(-np.nan_to_num(delay_h, nan=24.0) / 16.0)
    p_opp = p_opp0 * decay * np.where(superficial, 0.35, 1.0)
    reach1 = _sigmoid(
        1.2
        - 1.0 * (email_domain_type == "free_mail")
        + 0.6 * np.isin(source, ("demo_request", "contact_form"))
        - 0.5 * (source == "outbound_campaign")
        + 0.3 * intent
    )
    reach3 = 1 - (1 - reach1) ** policy.contact_attempts.min_attempts_before_unreachable
    lenient = np.array([traits[r].leniency if r else 0.0 for r in rep])
    fit = (z + 3.9) / 2.0  # how good the lead looks to a rep, on a rough logit scale
    q_accept = _sigmoid(
        -0.9
        + fit
        + lenient
        - 1.5 * dup
        # sales turn away students and competitors whatever else the lead looks like
        - 5.0 * (seniority == "student")
        - 5.0 * (email_domain_type == "competitor")
    )
    p_accept = p_opp + (1 - p_opp) * reach3 * q_accept
    will_opp = worked & (rng.random(n) < p_opp)
    reached_any = will_opp | (worked & (rng.random(n) < reach3))
    accepts = will_opp | (reached_any & (rng.random(n) < q_accept))

    # 7. events --------------------------------------------------------------------------------
    say("events")
    ev: dict[str, list] = {
        k: []
        for k in (
            "lead_id",
            "type",
            "b",
            "wall",
            "rep",
            "team",
            "channel",
            "outcome",
            "duration_s",
            "reason",
            "status",
            "next_action",
            "amount",
            "payload",
        )
    }

    def emit(j: int, type_: str, b: int = -1, *, wall: int = -1, **kw: object) -> None:
        """Record an event at business-clock time ``b``, or at wall-clock microseconds ``wall``."""
        ev["lead_id"].append(lead_ids[j])
        ev["type"].append(type_)
        ev["b"].append(b)
        ev["wall"].append(wall)
        ev["rep"].append(rep[j])
        ev["team"].append(team[j])
        for key in (
            "channel",
            "outcome",
            "duration_s",
            "reason",
            "status",
            "next_action",
            "amount",
            "payload",
        ):
            ev[key].append(kw.get(key))

    reason_codes = set(policy.rejection_codes)
    attrs = dict(
        budget=budget,
        timeline=timeline,
        band=band,
        sector=sector,
        country=country,
        seniority=seniority,
        authority=authority,
        need=need,
        existing=existing,
        dup=dup,
        email=email_domain_type,
    )
    attempts_needed = policy.contact_attempts.min_attempts_before_unreachable
    u = rng.random((n, 12))
    created_us = created.asi8 // 1000
    handoff_lag = (rng.integers(30, 900, n) * 1_000_000).astype(np.int64)
    for j in np.flatnonzero(handed):
        # handed_off happens on the wall clock, minutes after creation (not in business time)
        emit(
            j,
            "handed_off",
            wall=int(created_us[j] + handoff_lag[j]),
            payload={
                "exploration": bool(explore[j]),
                "propensity": float(propensity[j]),
                "scorecard": float(points[j]),
                "escalated": bool(escalated[j] and not (above[j] or explore[j])),
            },
        )
        if not worked[j]:
            continue
        t = int(b_first[j])
        tr = traits[rep[j]]
        if accepts[j] and superficial[j]:
            emit(
                j,
                "contact_attempt",
                t,
                channel="phone",
                outcome="reached",
                duration_s=float(20 + 40 * u[j, 0]),
            )
            emit(j, "accepted", t + int(0.1 * HOUR_US), status="qualified")
            continue
        # attempts until reached (or the policy's minimum, then unreachable)
        reached_at = None
        for a in range(attempts_needed):
            gets_through = reached_any[j] and (a == attempts_needed - 1 or u[j, 1 + a] < 0.6)
            outcome = (
                "reached" if gets_through else ("voicemail" if u[j, 4 + a] < 0.5 else "no_answer")
            )
            emit(
                j,
                "contact_attempt",
                t,
                channel="phone" if u[j, 7] < 0.8 else "email",
                outcome=outcome,
                duration_s=float(300 + 900 * u[j, 8]) if gets_through else float(15 + 30 * u[j, 8]),
            )
            if gets_through:
                reached_at = t
                break
            # next attempt in another slot: half a day to two days later
            t += int((4.0 + 12.0 * u[j, 9 + a % 3]) * HOUR_US)
        decide = (reached_at if reached_at is not None else t) + int(1.5 * u[j, 10] * HOUR_US)
        if reached_at is None:
            emit(
                j,
                "rejected",
                decide,
                reason="unreachable",
                status="to_rework",
                next_action="marketing_nurturing",
            )
            emit(j, "recycled_to_nurturing", decide + HOUR_US)
            continue
        if accepts[j]:
            if u[j, 11] < tr.explicit_accept:
                emit(j, "accepted", decide, status="qualified")
            # follow-up call (the first prospecting action already counted as acceptance)
            emit(
                j,
                "contact_attempt",
                decide + int((8 + 24 * u[j, 0]) * HOUR_US),
                channel="meeting",
                outcome="reached",
                duration_s=float(1800 + 1800 * u[j, 2]),
            )
            if will_opp[j]:
                b_opp = decide + int((16 + 200 * u[j, 3]) * HOUR_US)
                size = BANDS[band[j]][3]
                amount = float(round(12000 * size * np.exp(0.4 * rng.normal()), -2))
                emit(j, "opportunity", b_opp, amount=amount)
                won = u[j, 5] < 0.28 + 0.08 * (size >= 1.8)
                emit(
                    j,
                    "won" if won else "lost",
                    b_opp + int((40 + 500 * u[j, 6]) * HOUR_US),
                    amount=amount,
                )
            continue
        reason, status, action, months_ = _rejection(j, rng, reason_codes, attrs)
        if rng.random() < tr.reason_skip:
            reason, status, action = None, None, None
        payload = {"call_back_months": months_} if months_ else None
        emit(
            j, "rejected", decide, reason=reason, status=status, next_action=action, payload=payload
        )
        if action == "marketing_nurturing":
            emit(j, "recycled_to_nurturing", decide + HOUR_US)

    say("timestamps")
    b = np.asarray(ev["b"], dtype=np.int64)
    wall_us = np.asarray(ev["wall"], dtype=np.int64)
    on_wall = wall_us >= 0
    occurred = wall_us.astype("datetime64[us]")
    biz = cal.from_business_us(b[~on_wall]).tz_convert("UTC").tz_localize(None)
    occurred[~on_wall] = biz.to_numpy().astype("datetime64[us]")
    events = pd.DataFrame({k: ev[k] for k in ev if k not in ("b", "wall")})
    events["occurred_at"] = pd.to_datetime(occurred).tz_localize("UTC").floor("s")
    events = events[events["occurred_at"] < end_ts.tz_convert("UTC")]
    events["recorded_at"] = events["occurred_at"]
    events["event_id"] = [f"E{seed:03d}-{k:07d}" for k in range(len(events))]
    events = events.sort_values(["occurred_at", "event_id"], kind="stable").reset_index(drop=True)
    events["team"] = events["team"].where(events["rep"].notna(), None)

    scores = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "scored_at": leads["created_at"],
            "score": points,
            "probability": None,
            "acceptance_probability": None,
            "tier": tier,
            "handoff": handed,
            "excluded_reason": np.where(rule_out, excluded, None),
            "due_at": due,
            "model_version": f"scorecard@{policy.version}",
            "policy_version": 1,
            "feature_set_version": "scorecard",
            "reasons": None,
        }
    )
    truth = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "p_opportunity": p_opp,
            "p_opportunity_intrinsic": p_opp0,
            "p_accept": p_accept,
            "p_reach": reach3,
            "response_delay_business_hours": delay_h,
            "rep": rep,
            "team": np.where(handed, team, None),
            "handed_off": handed,
            "exploration": explore,
            "propensity": propensity,
            "edge_case": edge,
            "duplicate_of": np.where(dup, lead_ids[np.maximum(dup_of, 0)], None),
            "superficial": superficial,
            "never_worked": handed & ~worked,
        }
    )
    decisions = _decision_log(leads, edge, escalated, handed, rng)
    return DemoHistory(
        leads=leads, events=events, scores=scores, ground_truth=truth, decisions=decisions
    )


def _rejection(
    j: int, rng: np.random.Generator, codes: set[str], attrs: dict[str, np.ndarray]
) -> tuple[str, str, str, int | None]:
    """A reason that follows the lead's weak point, with its status and next action."""
    budget, timeline, band, sector = (
        attrs["budget"],
        attrs["timeline"],
        attrs["band"],
        attrs["sector"],
    )
    country, seniority, authority = attrs["country"], attrs["seniority"], attrs["authority"]
    need, existing, dup, email_domain = (
        attrs["need"],
        attrs["existing"],
        attrs["dup"],
        attrs["email"],
    )
    weights = {
        "no_budget": 3.0 * (budget[j] == "none") + 0.3,
        "bad_timing": 3.0 * (timeline[j] == "gt_12m") + 1.0 * (timeline[j] == "unknown") + 0.3,
        "out_of_target": 3.0 * (band[j] == "1-9")
        + 1.0 * (band[j] == "10-49")
        + 2.0 * (sector[j] in ("education", "public_sector"))
        + 2.5 * (country[j] in PARTNER_ONLY_COUNTRIES)
        + 0.2,
        "no_authority": 2.0 * (seniority[j] == "individual_contributor")
        + 1.5 * (authority[j] == "none")
        + 0.2,
        "no_need": 1.5 * (need[j] in ("exploring", "unknown")) + 0.3,
        "competitor_installed": 0.6 + 30.0 * (email_domain[j] == "competitor"),
        "duplicate": 50.0 * dup[j],
        "existing_customer": 8.0 * existing[j],
        "other": 0.25,
    }
    weights = {k: v for k, v in weights.items() if k in codes}
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    reason = keys[int(rng.choice(len(keys), p=p / p.sum()))]
    if reason == "bad_timing":
        return reason, "to_rework", "call_back", int(rng.choice([3, 6, 12]))
    if reason in ("no_budget", "no_need", "no_authority"):
        return (
            reason,
            "to_rework" if reason == "no_authority" else "not_qualified",
            "marketing_nurturing",
            None,
        )
    return reason, "not_qualified", "closed", None


def _decision_log(
    leads: pd.DataFrame,
    edge: np.ndarray,
    escalated: np.ndarray,
    handed: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Decisions of the marketing + sales pair on a sample of edge cases (domain text 001)."""
    texts = {
        "executive_below_size_rule": (
            "Executive of a company below the MQL size rule downloaded bottom-of-funnel content",
            "Hand to sales as warm",
            "Business potential beats the rule: an executive with budget authority in a fast-"
            "growing company is worth one call.",
        ),
        "partner_only_country": (
            "Lead meets every criterion but is based in a country served only by a partner",
            "Route to the partner, track as partner-sourced",
            "No direct presence: our reps cannot serve it, the partner can.",
        ),
        "other_division_of_customer": (
            "Lead from another division of an existing customer",
            "Treat as a new lead and inform the account owner",
            "The division has its own budget and decision process.",
        ),
    }
    rows = []
    idx = np.flatnonzero(edge != None)  # noqa: E711
    pick = idx[rng.random(len(idx)) < 0.04]
    for j in pick:
        case, decision, reasoning = texts[edge[j]]
        if edge[j] == "other_division_of_customer" and not escalated[j]:
            decision, reasoning = (
                "Route to the account owner",
                "Same procurement as the existing contract; the account owner leads.",
            )
        created = leads["created_at"].iloc[j]
        rows.append(
            {
                "lead_id": leads["lead_id"].iloc[j],
                "case": case,
                "decision": decision,
                "reasoning": reasoning,
                "decided_by": "Marie (marketing) + Julien (sales)",
                "decided_at": created + pd.Timedelta(hours=float(2 + 20 * rng.random())),
            }
        )
    return pd.DataFrame(
        rows, columns=["lead_id", "case", "decision", "reasoning", "decided_by", "decided_at"]
    )
