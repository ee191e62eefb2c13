"""The API's OpenAPI document, completed with the answers the framework gives itself.

Each view documents what it returns; django-ninja also answers 401 (no token, or a bad
one), 403 (a read-only token on a change, :mod:`fencun.api.auth`), 422 (a parameter or body that does not fit the schema) and 400 (a body that is not
JSON) before the view runs. A client built from the document must know those too, and
the schema fuzz run (``tests/api/test_schema_fuzz.py``) holds every answer to it.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

from fencun.api.auth import SAFE_METHODS

ERROR = {"$ref": "#/components/schemas/ErrorOut"}
VALIDATION_ERROR = {"$ref": "#/components/schemas/ValidationErrorOut"}

VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ValidationErrorOut",
    "description": "The request does not fit the schema: each problem's `loc` names the "
    "parameter or field, `msg` says why.",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with 401, 422 and (for a body) 400 on every operation that can answer
    them; what a view documents itself is kept, a 400 of its own joined by the parse error."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorOut", {
        "title": "ErrorOut", "type": "object", "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    })
    schemas.setdefault("ValidationErrorOut", VALIDATION_ERROR_SCHEMA)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            # ninja keys the views' own answers by int: one spelling, so none is doubled.
            responses = {str(status): answer for status, answer in operation.get("responses", {}).items()}
            operation["responses"] = responses
            if operation.get("security"):
                responses.setdefault("401", _json("No token, or not a valid one", ERROR))
                if method.upper() not in SAFE_METHODS:
                    responses.setdefault("403", _json("A read-only token", ERROR))
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("422", _json("Does not fit the schema", VALIDATION_ERROR))
            if operation.get("requestBody"):
                own = responses.get("400")
                if own is None:
                    responses["400"] = _json("The body is not JSON", ERROR)
                else:
                    schema = own["content"]["application/json"]["schema"]
                    own["content"]["application/json"]["schema"] = {"anyOf": [schema, ERROR]}
                    own["description"] += "; or the body is not JSON"
    return document


class DocumentedAPI(NinjaAPI):
    """A NinjaAPI whose document names the framework's own answers (see :func:`complete`)."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None):
        return complete(super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params))
