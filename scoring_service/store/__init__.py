"""Lead store: leads, scores, append-only events, policy versions and the decision log."""

from scoring_service.store.store import Store, default_database_url
from scoring_service.store.tables import EVENT_TYPES, StoreError

__all__ = ["EVENT_TYPES", "Store", "StoreError", "default_database_url"]
