"""Stored models (what the DAL returns) and API input/output models."""
