"""The WeChat Official Account sandbox's platform; it lives in :mod:`fencun.sandbox.wechat`
(one module per API family). These names stay importable from here."""

from fencun.sandbox.wechat.errors import ERRMSG, ApiError
from fencun.sandbox.wechat.errors import error_answer as _error
from fencun.sandbox.wechat.limits import limits_for, load_limits_table
from fencun.sandbox.wechat.platform import ROUTES, Platform
from fencun.sandbox.wechat.state import SHANGHAI, Config, Delivery, FaultRule, MassJob
from fencun.sandbox.wechat.state import timestamp as _timestamp

__all__ = [
    "SHANGHAI",
    "ERRMSG",
    "ROUTES",
    "ApiError",
    "Config",
    "Delivery",
    "FaultRule",
    "MassJob",
    "Platform",
    "_error",
    "_timestamp",
    "limits_for",
    "load_limits_table",
]
