"""A campaign may be published without a push (freepublish): a choice of channel only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0012_preview_draft'),
    ]

    operations = [
        migrations.AlterField(
            model_name='campaign',
            name='channel',
            field=models.CharField(choices=[('mass', '群发'), ('customer_service', '客服消息'), ('wecom', '企业微信群发'), ('publish', '发表（不推送）')], default='mass', max_length=20, verbose_name='渠道'),
        ),
    ]
