"""Account, AccessTokenLease and Membership move here from ``channels``: in the migration
state only. Their tables stay what ``channels`` created (the models name them), so no row
moves and nothing is locked; ``channels.0009`` drops them from its state afterwards."""

import django.db.models.deletion
import fencun.accounts.fields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("channels", "0008_seal_plain_secrets"),
    ]

    operations = [migrations.SeparateDatabaseAndState(database_operations=[], state_operations=[
        migrations.CreateModel(
            name='AccessTokenLease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('app_id', models.CharField(max_length=32, unique=True)),
                ('value', fencun.accounts.fields.SecretField(blank=True)),
                ('expires_at', models.FloatField(default=0)),
                ('fetched_at', models.FloatField(default=0)),
                ('fetch_count', models.PositiveIntegerField(default=0)),
                ('lease_owner', models.CharField(blank=True, max_length=32)),
                ('lease_until', models.FloatField(blank=True, null=True)),
            ],
            options={
                'db_table': 'channels_accesstokenlease',
            },
        ),
        migrations.CreateModel(
            name='Account',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('app_id', models.CharField(max_length=32, unique=True, verbose_name='AppID')),
                ('name', models.CharField(blank=True, max_length=100, verbose_name='名称')),
                ('account_type', models.CharField(choices=[('subscription', '订阅号'), ('service', '服务号')], default='subscription', max_length=16, verbose_name='账号类型')),
                ('app_secret', fencun.accounts.fields.SecretField(blank=True, verbose_name='AppSecret')),
                ('token', fencun.accounts.fields.SecretField(verbose_name='Token')),
                ('aes_key', fencun.accounts.fields.SecretField(blank=True, verbose_name='EncodingAESKey')),
                ('mode', models.CharField(choices=[('plaintext', '明文模式'), ('compatible', '兼容模式'), ('safe', '安全模式')], default='plaintext', max_length=16, verbose_name='消息加解密方式')),
                ('is_default', models.BooleanField(default=False, verbose_name='默认账号')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': '公众号',
                'verbose_name_plural': '公众号',
                'db_table': 'channels_account',
            },
        ),
        migrations.CreateModel(
            name='Membership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('owner', '所有者'), ('operator', '运营'), ('analyst', '分析师')], max_length=16, verbose_name='角色')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='accounts.account')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': '成员',
                'verbose_name_plural': '成员',
                'db_table': 'channels_membership',
                'constraints': [models.UniqueConstraint(fields=('user', 'account'), name='membership_one_role_per_account')],
            },
        ),
    ])]
