"""The shared contract: lead fields, model features and the SLA policy, declared as data."""
