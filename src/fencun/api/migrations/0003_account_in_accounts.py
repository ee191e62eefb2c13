"""The account models moved to the ``accounts`` app (its 0001): this changes the migration
state only. Every table and foreign key stays as it was, so nothing runs on the database."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('api', '0002_token_accounts_scope'),
    ]

    operations = [migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
        migrations.AlterField(
            model_name='apitoken',
            name='accounts',
            field=models.ManyToManyField(related_name='api_tokens', to='accounts.account'),
        ),
    ])]
