"""Followers, stores, tags and the event log they are projected from."""
