"""Secrets as the tests store them, and the database's raw text of every secret column."""

from __future__ import annotations

from django.db import connection

from fencun.accounts.models import AccessTokenLease, Account
from fencun.channels.models import WecomCorp

APP_SECRET = "appsecret-0123456789abcdef0123456"
TOKEN = "callbacktoken-kept-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP_SECRET = "corpsecret-0123456789-abcdefghijklmnopqrstuvw"
CORP_TOKEN = "corptoken-kept-secret"
CORP_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
ACCESS_TOKEN = "ACCESS_TOKEN_0123456789_live_for_two_hours"
ALL_SECRETS = (APP_SECRET, TOKEN, AES_KEY, CORP_SECRET, CORP_TOKEN, CORP_AES_KEY, ACCESS_TOKEN)

SECRET_COLUMNS = {
    Account: ("app_secret", "token", "aes_key"),
    WecomCorp: ("secret", "token", "aes_key"),
    AccessTokenLease: ("value",),
}


def raw_rows() -> list[str]:
    """Every secret column's text exactly as the database holds it."""
    values = []
    with connection.cursor() as cursor:
        for model, fields in SECRET_COLUMNS.items():
            columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
            cursor.execute(f"SELECT {columns} FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
            for row in cursor.fetchall():
                values.extend(row)
    return values


def write_raw(model, pk: int, **columns: str) -> None:
    """Put text into secret columns past the field, as an older fencun stored it."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        for name, text in columns.items():
            column = connection.ops.quote_name(model._meta.get_field(name).column)
            cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [text, pk])  # noqa: S608
