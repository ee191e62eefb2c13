"""The draft of a campaign's latest preview, kept until the next preview replaces it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0011_article_drafts'),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='preview_media_id',
            field=models.CharField(blank=True, max_length=128),
        ),
    ]
