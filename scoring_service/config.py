"""Service settings, read once from the environment (prefix HANDOFF_).

Unsafe values are refused outside dev mode: no API keys at all, or the well-known dev key.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY = "dev-admin-key"  # printed by `make run`; refused unless HANDOFF_DEV=1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HANDOFF_", extra="ignore")

    dev: bool = False
    database_url: str | None = None
    model_uri: str = "models:/lead-score@champion"
    # "name:scope+scope:secret" entries separated by ";" — a secret may be given pre-hashed as
    # "sha256=<hex>". Scopes: score, feedback, admin.
    api_keys: str = ""
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    max_batch: int = Field(default=10_000, gt=0, le=100_000)
    cors_origins: list[str] = []
    model_reload_seconds: float = Field(default=10.0, gt=0)
    # answer plain POST /v1/score requests below FastAPI (same bytes; see fast_score.py)
    fast_score: bool = True
    at_risk_share: float = Field(default=0.75, gt=0, lt=1)  # of the SLA time, for "at risk"

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        if self.dev:
            return self
        if not self.api_keys.strip():
            raise ValueError("HANDOFF_API_KEYS is empty: set keys, or HANDOFF_DEV=1 for local use")
        if DEV_KEY in self.api_keys:
            raise ValueError("the dev API key is refused outside dev mode (HANDOFF_DEV=1)")
        return self

    def key_entries(self) -> str:
        if self.api_keys.strip():
            return self.api_keys
        return f"dev:score+feedback+admin:{DEV_KEY}" if self.dev else ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
