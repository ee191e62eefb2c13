"""The merchant's web console."""
