"""The sandbox's followers: a generated population (lazy, any size) plus explicit ones.

A generated follower is a pure function of (seed, index), so a million of them cost no
memory until one changes; changed and explicitly added followers live in a dict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

# Ascii-sorted alphabet: openids of generated followers sort in index order.
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = _ALPHABET + "-_"
_INDEX_WIDTH = 6  # 62**6 ≈ 5.7e10 followers

SCENES = (
    ("ADD_SCENE_SEARCH", 0.30),
    ("ADD_SCENE_QR_CODE", 0.30),
    ("ADD_SCENE_PROFILE_CARD", 0.12),
    ("ADD_SCENE_ACCOUNT_MIGRATION", 0.03),
    ("ADD_SCENE_PROFILE_LINK", 0.08),
    ("ADD_SCENE_PROFILE_ITEM", 0.05),
    ("ADD_SCENE_PAID", 0.04),
    ("ADD_SCENE_WECHAT_ADVERTISEMENT", 0.05),
    ("ADD_SCENE_OTHERS", 0.03),
)
#: Tags a generated account starts with (id, name); 0–2 are WeChat's reserved ids.
GENERATED_TAGS = ((100, "沙发"), (101, "床垫"), (102, "餐桌"), (103, "灯具"), (104, "会员"))
LANGUAGES = (("zh_CN", 0.92), ("zh_TW", 0.03), ("en", 0.05))
#: The menu the merchant's operator published in the admin panel (公众平台官网) before any
#: developer came, as get_current_selfmenu_info answers it: panel types (news, view,
#: text) and sub-menus as ``{"list": [...]}``. A product importing it starts from here.
PANEL_MENU: list[dict[str, object]] = [
    {
        "type": "news",
        "name": "新品",
        "value": "Kx3mPanelNews0aB7cD9eF1gH2iJ4kL6mN8oP0qR2s",
        "news_info": {
            "list": [
                {
                    "title": "秋季新品：头层牛皮三人位沙发到店",
                    "author": "分寸家居",
                    "digest": "到店体验，周末下单享包邮安装",
                    "show_cover": 1,
                    "cover_url": "http://mmbiz.qpic.cn/mmbiz_jpg/sandbox-panel-cover/0",
                    "content_url": "http://mp.weixin.qq.com/s?__biz=sandbox&mid=1&idx=1",
                    "source_url": "https://shop.example.com/new",
                }
            ]
        },
    },
    {
        "name": "门店",
        "sub_button": {
            "list": [
                {
                    "type": "view",
                    "name": "惠州店",
                    "url": "https://shop.example.com/stores/huizhou",
                },
                {"type": "text", "name": "营业时间", "value": "每天 10:00–21:00，节假日照常营业"},
            ]
        },
    },
    {"type": "text", "name": "联系我们", "value": "直接发消息给我们，客服 9:00–18:00 回复"},
]


@dataclass
class FollowerRecord:
    """What the platform knows about one follower of the account."""

    openid: str
    subscribed: bool = True
    subscribe_time: int = 0
    scene: str = "ADD_SCENE_SEARCH"
    qr_scene: int = 0
    qr_scene_str: str = ""
    language: str = "zh_CN"
    remark: str = ""
    tags: list[int] = field(default_factory=list)
    unionid: str = ""
    # Customer-service window: the last message, the last window-opening event, and how
    # many customer-service messages were sent since each.
    last_message_at: float | None = None
    last_event_at: float | None = None
    sent_since_message: int = 0
    sent_since_event: int = 0
    lat: float | None = None
    lng: float | None = None

    def info(self) -> dict[str, object]:
        """The ``user/info`` JSON of this follower."""
        if not self.subscribed:
            return {"subscribe": 0, "openid": self.openid}
        data: dict[str, object] = {
            "subscribe": 1,
            "openid": self.openid,
            "language": self.language,
            "subscribe_time": self.subscribe_time,
            "remark": self.remark,
            "groupid": self.tags[0] if self.tags else 0,
            "tagid_list": list(self.tags),
            "subscribe_scene": self.scene,
            "qr_scene": self.qr_scene,
            "qr_scene_str": self.qr_scene_str,
        }
        if self.unionid:
            data["unionid"] = self.unionid
        return data


def _pick(options: tuple[tuple[str, float], ...], unit: float) -> str:
    acc = 0.0
    for value, weight in options:
        acc += weight
        if unit < acc:
            return value
    return options[-1][0]


class Population:
    """Followers in a stable order: generated ones (by index), then added ones."""

    def __init__(self, app_id: str, generated: int, seed: int, now: float) -> None:
        self.seed = seed
        self.generated = generated
        digest = hashlib.sha1(f"{app_id}:{seed}".encode()).digest()
        self._prefix = "o" + "".join(_ALPHABET[b % 62] for b in digest[:5])
        self._epoch = int(now)
        self._changed: dict[str, FollowerRecord] = {}
        self._added: list[str] = []
        self._added_pos: dict[str, int] = {}
        self._unsubscribed = 0

    # -- identity -----------------------------------------------------------------

    def _digest(self, index: int) -> bytes:
        return hashlib.blake2b(f"{self.seed}:{index}".encode(), digest_size=24).digest()

    def openid_of(self, index: int) -> str:
        digits = []
        n = index
        for _ in range(_INDEX_WIDTH):
            n, r = divmod(n, 62)
            digits.append(_ALPHABET[r])
        suffix = "".join(_SUFFIX_ALPHABET[b % 64] for b in self._digest(index)[:16])
        return self._prefix + "".join(reversed(digits)) + suffix

    def _index_of(self, openid: str) -> int | None:
        if len(openid) != 28 or not openid.startswith(self._prefix):
            return None
        index = 0
        for ch in openid[6 : 6 + _INDEX_WIDTH]:
            value = _ALPHABET.find(ch)
            if value < 0:
                return None
            index = index * 62 + value
        if index >= self.generated or self.openid_of(index) != openid:
            return None
        return index

    def _generate(self, index: int) -> FollowerRecord:
        d = self._digest(index)
        unit = [b / 256 for b in d]
        scene = _pick(SCENES, unit[15])
        qr_scene = 0
        qr_scene_str = ""
        if scene == "ADD_SCENE_QR_CODE":
            if d[16] % 2:
                qr_scene = 1 + d[17] % 20
            else:
                qr_scene_str = ("store", "expo", "flyer", "sofa-promo")[d[17] % 4]
        tags = [tag for k, (tag, _) in enumerate(GENERATED_TAGS) if d[18 + k] < 40]
        # Subscribed over the past ~3 years, spread by index.
        subscribe_time = (
            self._epoch - 86400 * 1100 + (int.from_bytes(d[:4], "big") % (86400 * 1100))
        )
        return FollowerRecord(
            openid=self.openid_of(index),
            subscribe_time=subscribe_time,
            scene=scene,
            qr_scene=qr_scene,
            qr_scene_str=qr_scene_str,
            language=_pick(LANGUAGES, unit[23]),
            tags=tags,
            unionid="oU" + self.openid_of(index)[2:] if d[14] < 64 else "",
        )

    # -- access -------------------------------------------------------------------

    def get(self, openid: str) -> FollowerRecord | None:
        """The follower (a copy for generated ones not yet changed), or None if unknown."""
        record = self._changed.get(openid)
        if record is not None:
            return record
        index = self._index_of(openid)
        return self._generate(index) if index is not None else None

    def mutable(self, openid: str) -> FollowerRecord | None:
        """The follower as a record whose changes are kept."""
        record = self._changed.get(openid)
        if record is None:
            index = self._index_of(openid)
            if index is None:
                return None
            record = self._changed[openid] = self._generate(index)
        return record

    def add(self, record: FollowerRecord) -> FollowerRecord:
        """Add a follower (or replace a known one's record)."""
        known = self.get(record.openid)
        if known is None:
            self._added_pos[record.openid] = len(self._added)
            self._added.append(record.openid)
        elif not known.subscribed:
            self._unsubscribed -= 1
        if not record.subscribed:
            self._unsubscribed += 1
        self._changed[record.openid] = record
        return record

    def set_subscribed(self, openid: str, subscribed: bool) -> None:
        record = self.mutable(openid)
        if record is None or record.subscribed == subscribed:
            return
        record.subscribed = subscribed
        self._unsubscribed += -1 if subscribed else 1

    @property
    def size(self) -> int:
        """Everyone ever known, subscribed or not."""
        return self.generated + len(self._added)

    @property
    def subscribed_count(self) -> int:
        return self.size - self._unsubscribed

    def position(self, openid: str) -> int | None:
        index = self._index_of(openid)
        if index is not None:
            return index
        pos = self._added_pos.get(openid)
        return None if pos is None else self.generated + pos

    def openid_at(self, position: int) -> str:
        if position < self.generated:
            return self.openid_of(position)
        return self._added[position - self.generated]

    def _subscribed_at(self, position: int) -> str | None:
        openid = self.openid_at(position)
        changed = self._changed.get(openid)
        if changed is not None and not changed.subscribed:
            return None
        return openid

    def page(self, start: int, size: int) -> list[str]:
        """Up to ``size`` subscribed openids from ``position`` on."""
        result: list[str] = []
        position = start
        total = self.size
        while position < total and len(result) < size:
            openid = self._subscribed_at(position)
            if openid is not None:
                result.append(openid)
            position += 1
        return result

    def subscribed(self) -> Iterator[FollowerRecord]:
        """Every subscribed follower, in order (generates records on the fly)."""
        for position in range(self.size):
            openid = self.openid_at(position)
            record = self._changed.get(openid)
            if record is None:
                record = self._generate(position)
            if record.subscribed:
                yield record

    def copy_record(self, openid: str) -> FollowerRecord | None:
        record = self.get(openid)
        return replace(record, tags=list(record.tags)) if record is not None else None
