"""The account models moved to the ``accounts`` app (its 0001): this changes the migration
state only. Every table and foreign key stays as it was, so nothing runs on the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('campaigns', '0009_outbox_unknown_outcome'),
    ]

    operations = [migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
        migrations.AlterField(
            model_name='campaign',
            name='account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='campaigns', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='rules',
            name='account',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='rules', to='accounts.account'),
        ),
    ])]
