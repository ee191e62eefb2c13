"""Channel accounts (WeChat Official Account first) and their API clients."""
