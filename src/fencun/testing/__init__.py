"""Test support shipped with the product (the pytest environment plugin)."""
