"""The account models moved to the ``accounts`` app (its 0001): this changes the migration
state only. Every table and foreign key stays as it was, so nothing runs on the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('channels', '0008_seal_plain_secrets'),
    ]

    operations = [migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
        migrations.DeleteModel(
            name='AccessTokenLease',
        ),
        migrations.AlterField(
            model_name='followersync',
            name='account',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='follower_sync', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='wecomcorp',
            name='account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='wecom_corps', to='accounts.account'),
        ),
        migrations.RemoveField(
            model_name='membership',
            name='account',
        ),
        migrations.AlterField(
            model_name='masssend',
            name='account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='mass_sends', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='broadcastpost',
            name='account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='broadcast_posts', to='accounts.account'),
        ),
        migrations.RemoveField(
            model_name='membership',
            name='user',
        ),
    ])]
