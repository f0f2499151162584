"""Prefect flows: thin wiring over plain functions (``starmill.pipeline``)."""
