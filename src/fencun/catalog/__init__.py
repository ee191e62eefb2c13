"""Products, categories and messages."""
