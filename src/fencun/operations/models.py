"""The custom menus and channel QR codes of an account, as fencun keeps them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.accounts.models import Account
from fencun.audience.models import Store


class Menu(models.Model):
    """One custom menu: the default menu or a personalised one shown to a tag.

    A menu is edited as a draft and published; the platform's answer decides. Publishing
    makes the draft ``live`` and the menu it replaces ``retired`` in one transaction after
    the platform accepted it, so a refused menu leaves the previous one recorded as live.
    """

    class Kind(models.TextChoices):
        DEFAULT = "default", _("Default menu")
        PERSONAL = "personal", _("Personalised menu")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LIVE = "live", _("Live")
        RETIRED = "retired", _("Retired")

    class Origin(models.TextChoices):
        EDITED = "edited", _("Edited in fencun")
        API = "api", _("Imported from the platform")
        PANEL = "panel", _("Imported from the admin panel")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="menus")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DEFAULT)
    # A personalised menu's rule: the WeChat tag it is shown to, and optionally the
    # phone's system (1 iOS, 2 Android, 3 others). Gender, region and language are no
    # longer accepted by the platform (65320).
    tag_id = models.IntegerField(null=True, blank=True)
    client_platform_type = models.IntegerField(null=True, blank=True)
    buttons = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.EDITED)
    menuid = models.CharField(max_length=32, blank=True)  # a live personalised menu's
    # Buttons of an imported admin-panel menu that the API cannot express (an image or
    # a voice message): shown to the merchant until replaced.
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "tag_id", "-id"]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.tag_id or ''} {self.status}".strip()


class QrChannel(models.Model):
    """A channel QR code (渠道码): a parametric code of the account for one store, poster
    or event. Who subscribes or scans through it gets its welcome and its tags, and
    insights count its followers, their retention and their orders."""

    class Kind(models.TextChoices):
        STORE = "store", _("Store")
        POSTER = "poster", _("Poster")
        EVENT = "event", _("Event")
        OTHER = "other", _("Other")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="qr_channels")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    # The code's scene_str: the EventKey of its subscribe (qrscene_ + scene) and SCAN events.
    scene = models.CharField(max_length=64)
    permanent = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ticket = models.CharField(max_length=256)
    url = models.CharField(max_length=256)  # what the code encodes
    store = models.ForeignKey(
        Store, on_delete=models.SET_NULL, null=True, blank=True, related_name="qr_channels"
    )
    welcome = models.TextField(blank=True)  # the passive reply on subscribe and scan
    tag_names = models.JSONField(default=list, blank=True)  # tags given to who comes through it
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "scene"], name="qrchannel_unique_scene"),
        ]

    def __str__(self) -> str:
        return self.name


class ChannelTagCursor(models.Model):
    """How far the channel-tagging pass has read an account's event log (an event pk)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+")
    event_id = models.BigIntegerField(default=0)


class NoticeSend(models.Model):
    """One subscription notice (订阅通知) to one follower, sent at most once: ``key`` is the
    caller's idempotency key (an order's shipping notice has one key however often it is
    asked for). A notice spends one of the follower's accepts of its template; without
    one it is refused before the platform is called, and counted."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        NO_CONSENT = "no_consent", _("Refused: the follower has not accepted this notice")
        REFUSED = "refused", _("Refused by the platform")
        UNKNOWN = "unknown", _("Outcome unknown: not sent again")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notice_sends")
    openid = models.CharField(max_length=64)
    template_id = models.CharField(max_length=128)
    key = models.CharField(max_length=128)
    data = models.JSONField(default=dict)
    page = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    msgid = models.BigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)  # the platform's words, as they came
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="noticesend_unique_key"),
        ]
        indexes = [models.Index(fields=["account", "openid", "template_id"])]


class WecomContactWay(models.Model):
    """A WeCom "contact me" code (联系我) for one store, poster or event: the WeCom twin of
    :class:`QrChannel`. Customers who add a member through it carry its ``state`` in the
    add_external_contact callback, and get its welcome and its corp tags."""

    Kind = QrChannel.Kind

    # By name: this file only appends, and operations sits above channels anyway.
    corp = models.ForeignKey(
        "channels.WecomCorp", on_delete=models.CASCADE, related_name="contact_ways"
    )
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=QrChannel.Kind.choices, default="other")
    # The code's state (at most 30 characters, WeCom's limit): State of its adds.
    state = models.CharField(max_length=30)
    config_id = models.CharField(max_length=64)
    qr_code = models.CharField(max_length=512, blank=True)  # the QR picture's URL
    members = models.JSONField(default=list)  # userids the code adds to
    welcome = models.TextField(blank=True)  # sent with the add's WelcomeCode
    tag_ids = models.JSONField(default=list, blank=True)  # corp tags given on add
    tag_names = models.JSONField(default=list, blank=True)  # their names when chosen
    archived = models.BooleanField(default=False)  # deleted on WeCom: adds no more
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["corp", "state"], name="contactway_unique_state"),
        ]

    def __str__(self) -> str:
        return self.name
