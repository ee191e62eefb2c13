"""The account models moved to the ``accounts`` app (its 0001): this changes the migration
state only. Every table and foreign key stays as it was, so nothing runs on the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0003_account_in_accounts'),
        ('audience', '0005_account_in_accounts'),
        ('campaigns', '0010_account_in_accounts'),
        ('catalog', '0002_account_in_accounts'),
        ('channels', '0009_account_in_accounts'),
        ('gateway', '0002_account_in_accounts'),
        ('insights', '0005_account_in_accounts'),
    ]

    operations = [migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
        migrations.DeleteModel(
            name='Account',
        ),
        migrations.DeleteModel(
            name='Membership',
        ),
    ])]
