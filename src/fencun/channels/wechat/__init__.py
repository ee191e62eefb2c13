"""The WeChat Official Account API client (``client.py``), its errors and token stores."""
