"""Seal the secrets stored as plain text before 0007 (see fencun.sealing).

Reads and writes the columns' raw text, whatever the field classes do later: a value
already sealed is left alone, so running it twice changes nothing. Reversing writes the
plain text back (it needs the key the values were sealed with).
"""

from django.db import migrations

from fencun.sealing import is_sealed, seal, unseal

SECRET_COLUMNS = {
    "account": ("app_secret", "token", "aes_key"),
    "wecomcorp": ("secret", "token", "aes_key"),
    "accesstokenlease": ("value",),
}


def _rewrite(apps, schema_editor, change):  # type: ignore[no-untyped-def]
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        for model_name, fields in SECRET_COLUMNS.items():
            model = apps.get_model("channels", model_name)
            table = quote(model._meta.db_table)
            for name in fields:
                column = quote(model._meta.get_field(name).column)
                cursor.execute(f"SELECT id, {column} FROM {table}")  # noqa: S608 - names from the model
                for pk, stored in cursor.fetchall():
                    new = change(stored or "")
                    if new != (stored or ""):
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE id = %s",  # noqa: S608
                            [new, pk],
                        )


def seal_plain(apps, schema_editor):  # type: ignore[no-untyped-def]
    _rewrite(apps, schema_editor, lambda stored: stored if is_sealed(stored) else seal(stored))


def unseal_all(apps, schema_editor):  # type: ignore[no-untyped-def]
    _rewrite(apps, schema_editor, unseal)


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0007_secret_fields"),
    ]

    operations = [
        migrations.RunPython(seal_plain, unseal_all),
    ]
