"""Message content and its lint (pure Python: no Django)."""

from fencun.content.lint import lint
from fencun.content.model import Finding, Message, ProductInfo, Severity

__all__ = ["Finding", "Message", "ProductInfo", "Severity", "lint"]
