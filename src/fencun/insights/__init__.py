"""Rollups and reports over the event log."""
