"""The scoring service: FastAPI app, lead store, CRM import and the `handoff` command line."""
