"""Articles go out as drafts: a draft per outbox row (a mass send takes its draft out
of the box) and the cover once per campaign as permanent material; the per-variant
articles uploaded with media/uploadnews, which the platform has retired, go."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0010_account_in_accounts'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='cover_media_id',
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.AddField(
            model_name='outboxitem',
            name='media_id',
            field=models.CharField(blank=True, max_length=128),
        ),
        migrations.DeleteModel(
            name='CampaignArticle',
        ),
    ]
