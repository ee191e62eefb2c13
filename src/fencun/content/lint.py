"""The content lint: Advertising Law terms, spam, headline, first screen, products, links,
prices, the 广告 mark, claims against the named products and the AI-generated label.

Every rule reads its words and limits from ``data/*.json`` (each with its source).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from urllib.parse import urlsplit

from fencun.content import labels, rules_data, segment, template_rules
from fencun.content.limits import load_article_limits
from fencun.content.model import Finding, Message, ProductInfo, Severity

TEXT_FIELDS = ("title", "digest", "body")

CARD = re.compile(r"\[\[\s*([A-Za-z0-9_.\-]+)(?:\s+[¥￥]?\s*(\d+(?:\.\d{1,2})?)\s*元?)?\s*\]\]")
MD_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\n]*)\)")
#: An image in the body: Markdown ``![alt](url)`` or HTML ``<img src="url">``.
IMAGE = re.compile(
    r"!\[[^\]\n]*\]\(([^)\s]*)\)|<img\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE
)
BARE_URL = re.compile(
    r"(?<![(\w])((?:https?|ftp|www\.)[^\s<>()\[\]\"'，。！？、；）]*)", re.IGNORECASE
)
PRICE = re.compile(r"[¥￥]\s*(\d+(?:\.\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s*元")
EXCLAMATION_RUN = re.compile(r"[!！]{2,}")
CAPS_WORD = re.compile(r"\b[A-Z]{2,}\b")


def display_width(text: str) -> int:
    """Columns the text takes in the chat list: wide (CJK, fullwidth) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


_is_emoji = template_rules.is_emoji


def _f(
    code: str,
    severity: Severity,
    field: str,
    span: tuple[int, int],
    zh: str,
    en: str,
    fix_zh: str = "",
    fix_en: str = "",
) -> Finding:
    return Finding(code, severity, field, span, zh, en, fix_zh, fix_en)


def lint(
    message: Message,
    catalog: Mapping[str, ProductInfo] | None = None,
    *,
    products: Iterable[ProductInfo] | None = None,
) -> list[Finding]:
    """All findings for ``message``, ordered by field and position.

    ``catalog`` maps SKU to the product as the catalog holds it; without it the price
    and unknown-product checks that need it are skipped. ``products`` are the products
    the campaign names (its attached products); with the catalog's products the message
    names (cards, names in the text) they are what prices and 包邮 are checked against.
    A message that names no product gets no claim findings.
    """
    findings: list[Finding] = []
    fields = {name: getattr(message, name) or "" for name in TEXT_FIELDS}
    for name, text in fields.items():
        findings.extend(_absolute_terms(name, text))
        findings.extend(_spam(name, text))
    findings.extend(_headline(message))
    findings.extend(_first_screen(message))
    findings.extend(_products(message, catalog))
    findings.extend(_links(message))
    findings.extend(_body_images(message))
    findings.extend(_template(message, findings))
    named = _named_products(message, catalog, products)
    findings.extend(_claims(message, named, findings))
    findings.extend(_ad_unmarked(message, named))
    findings.extend(_ai_unlabelled(message))
    order = {name: i for i, name in enumerate(("title", "author", "digest", "body", "cover_url", "kind"))}
    # Template data fields come last, each by its name.
    findings.sort(key=lambda f: (order.get(f.field, 99), f.field if f.field not in order else "", f.span, f.code))
    return findings


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


# --- Advertising Law ------------------------------------------------------------


def _absolute_terms(field: str, text: str) -> Iterator[Finding]:
    data = rules_data.absolute_terms()
    terms = sorted(data["terms"], key=len, reverse=True)
    allowed = sorted(data["not_absolute"], key=len, reverse=True)
    if not text or not any(t in text for t in terms):
        return
    # Spans already covered by a term-free word such as 最近 or 第一次.
    exempt: list[tuple[int, int]] = []
    for word in allowed:
        for m in re.finditer(re.escape(word), text):
            exempt.append((m.start(), m.end()))
    taken: list[tuple[int, int]] = []
    pattern = re.compile("|".join(re.escape(t) for t in terms))
    for m in pattern.finditer(text):
        start, end = m.start(), m.end()
        if any(s <= start and end <= e for s, e in exempt):
            continue
        if any(s <= start < e for s, e in taken):
            continue
        if m.group() == "最":
            # A lone 最 is a superlative of the word it modifies: show that word too.
            end = segment.word_end(text, start, end)
            if end == start + 1 and end < len(text):
                end = segment.word_end(text, end, end + 1)
        taken.append((start, end))
        term = text[start:end]
        yield _f(
            "ad-law-absolute",
            Severity.ERROR,
            field,
            (start, end),
            f"“{term}”是绝对化用语，《广告法》第九条第三项禁止使用",
            f"“{term}” is an absolute term forbidden by Advertising Law art. 9(3)",
            "改为可证实的具体描述，如材质、尺寸、销量数据（注明来源与时间）",
            "State a verifiable fact instead (material, size, sales figures with source and date)",
        )


# --- spam and inducement ----------------------------------------------------------


def _spam(field: str, text: str) -> Iterator[Finding]:
    if not text:
        return
    data = rules_data.spam_patterns()
    limits = data["limits"]
    for m in _words(data["inducement"]).finditer(text):
        word = m.group()
        yield _f(
            "wechat-induced-share",
            Severity.ERROR,
            field,
            (m.start(), m.end()),
            f"“{word}”诱导分享，违反《微信公众平台运营规范》",
            f"“{word}” induces sharing, which the WeChat Official Account rules forbid",
            "删除转发、集赞要求；让内容本身值得分享",
            "Remove the share or like requirement; let the content earn its shares",
        )
    for m in _words(data["clickbait"]).finditer(text):
        word = m.group()
        yield _f(
            "spam-clickbait",
            Severity.WARNING,
            field,
            (m.start(), m.end()),
            f"“{word}”是夸张或诱导点击的说法，读者会当作垃圾信息",
            f"“{word}” reads as clickbait; followers treat it as spam",
            "直接写清商品、价格和期限",
            "Say plainly what, how much and until when",
        )
    for m in EXCLAMATION_RUN.finditer(text):
        if m.end() - m.start() >= limits["exclamation_run"]:
            yield _f(
                "spam-exclamations",
                Severity.WARNING,
                field,
                (m.start(), m.end()),
                "连续感叹号显得喧哗",
                "A run of exclamation marks reads as shouting",
                "最多保留一个感叹号",
                "Keep one exclamation mark at most",
            )
    marks = [i for i, ch in enumerate(text) if ch in "!！"]
    if len(marks) > limits["exclamations_per_field"]:
        yield _f(
            "spam-exclamations-total",
            Severity.INFO,
            field,
            (marks[0], marks[-1] + 1),
            f"感叹号过多（{len(marks)} 个）",
            f"Too many exclamation marks ({len(marks)})",
            "用事实代替语气",
            "Let facts carry the tone",
        )
    emoji = [i for i, ch in enumerate(text) if _is_emoji(ch)]
    if len(emoji) > limits["emoji_per_field"]:
        yield _f(
            "spam-emoji",
            Severity.WARNING,
            field,
            (emoji[0], emoji[-1] + 1),
            f"表情符号过多（{len(emoji)} 个）",
            f"Too many emoji ({len(emoji)})",
            f"最多 {limits['emoji_per_field']} 个",
            f"Use at most {limits['emoji_per_field']}",
        )
    for m in CAPS_WORD.finditer(text):
        if len(m.group()) >= limits["caps_word_letters"] and not _inside_url(text, m.start()):
            yield _f(
                "spam-all-caps",
                Severity.INFO,
                field,
                (m.start(), m.end()),
                f"全大写的“{m.group()}”像在喊叫",
                f"“{m.group()}” in capitals reads as shouting",
                "改用正常大小写",
                "Use normal case",
            )


@cache
def _words_cached(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _words(words: list[str]) -> re.Pattern[str]:
    """One pattern for a word list, longest first, so overlapping words match once."""
    return _words_cached(tuple(words))


def _inside_url(text: str, index: int) -> bool:
    """Inside a link or a product card, where capitals are codes, not shouting."""
    return any(
        m.start() <= index < m.end()
        for pattern in (BARE_URL, MD_LINK, CARD)
        for m in pattern.finditer(text)
    )


# --- headline and first screen ------------------------------------------------------


def _headline(message: Message) -> Iterator[Finding]:
    if message.kind != "news":
        return
    limits = rules_data.spam_patterns()["limits"]
    title = message.title
    if not title.strip():
        yield _f(
            "headline-missing",
            Severity.ERROR,
            "title",
            (0, len(title)),
            "图文消息必须有标题",
            "A news article needs a title",
            "写一个说清利益点的标题",
            "Write a title that says what is in it for the reader",
        )
        return
    width = display_width(title)
    title_max = load_article_limits().title_max_chars
    if len(title) > title_max:
        yield _f(
            "headline-over-limit",
            Severity.ERROR,
            "title",
            (title_max, len(title)),
            f"标题 {len(title)} 个字，公众平台最多 {title_max} 个字",
            f"The title has {len(title)} characters; the platform accepts at most {title_max}",
            "缩短标题",
            "Shorten the title",
        )
    elif width > limits["headline_columns"]:
        cut = _cut_index(title, limits["headline_columns"])
        yield _f(
            "headline-too-long",
            Severity.WARNING,
            "title",
            (cut, len(title)),
            f"标题宽 {width} 列，会话列表约显示 {limits['headline_columns']} 列，之后被截断",
            f"The title is {width} columns wide; the chat list shows about {limits['headline_columns']} before truncating",
            "把关键信息放在前 32 个汉字内",
            "Put the point within the first 32 Chinese characters",
        )
    elif width < limits["headline_min_columns"]:
        yield _f(
            "headline-too-short",
            Severity.INFO,
            "title",
            (0, len(title)),
            "标题太短，读者看不出为什么要点开",
            "The title is too short to tell readers why to open it",
            "加上具体的利益点（商品、价格、期限）",
            "Add the concrete benefit (product, price, deadline)",
        )


def _cut_index(text: str, columns: int) -> int:
    used = 0
    for i, ch in enumerate(text):
        used += display_width(ch)
        if used > columns:
            return i
    return len(text)


def _first_paragraph(body: str) -> tuple[int, int]:
    start = 0
    for para in re.split(r"\n\s*\n", body):
        stripped = para.strip()
        if stripped and not stripped.startswith("#"):
            begin = body.index(para, start) + (len(para) - len(para.lstrip()))
            return begin, begin + len(stripped)
        start = body.index(para, start) + len(para)
    return 0, 0


def _first_screen(message: Message) -> Iterator[Finding]:
    if message.kind != "news":
        return
    limits = rules_data.spam_patterns()["limits"]
    article = load_article_limits()
    if len(message.digest) > article.digest_max_chars:
        yield _f(
            "digest-over-limit",
            Severity.ERROR,
            "digest",
            (article.digest_max_chars, len(message.digest)),
            f"摘要 {len(message.digest)} 个字，公众平台最多 {article.digest_max_chars} 个字",
            f"The digest has {len(message.digest)} characters; the platform accepts at most {article.digest_max_chars}",
            "压缩摘要",
            "Shorten the digest",
        )
    if len(message.author) > article.author_max_chars:
        yield _f(
            "author-over-limit",
            Severity.ERROR,
            "author",
            (article.author_max_chars, len(message.author)),
            f"作者 {len(message.author)} 个字，公众平台最多 {article.author_max_chars} 个字",
            f"The author has {len(message.author)} characters; the platform accepts at most {article.author_max_chars}",
            "缩短作者名",
            "Shorten the author's name",
        )
    if message.digest.strip():
        field, text, (start, end) = "digest", message.digest, (0, len(message.digest))
    else:
        field, text = "body", message.body
        start, end = _first_paragraph(text)
        if end == start:
            yield _f(
                "first-screen-empty",
                Severity.WARNING,
                "body",
                (0, len(text)),
                "没有摘要，正文也没有首段",
                "No digest and no opening paragraph",
                "写一句话摘要：什么、多少钱、到何时",
                "Write a one-sentence digest: what, how much, until when",
            )
            return
    piece = text[start:end]
    width = display_width(piece)
    if width > limits["first_screen_columns"]:
        cut = start + _cut_index(piece, limits["first_screen_columns"])
        yield _f(
            "first-screen-too-long",
            Severity.WARNING,
            field,
            (cut, end),
            f"首屏（{'摘要' if field == 'digest' else '首段'}）过长：读者只给几秒",
            "The first screen is too long: readers give it a few seconds",
            "压缩到两三句，先说利益点",
            "Cut to two or three sentences, benefit first",
        )
    if not re.search(r"\d|\[\[", piece):
        yield _f(
            "first-screen-vague",
            Severity.INFO,
            field,
            (start, end),
            "首屏没有具体信息（价格、日期、数量或商品）",
            "The first screen has nothing concrete (price, date, quantity or product)",
            "在首屏写出一个具体数字或商品",
            "Put one concrete figure or product on the first screen",
        )


# --- products and prices ------------------------------------------------------------


def _price(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _differs(catalog_price: Decimal, price: Decimal) -> bool:
    """The catalog's price is not ``price``; a signalling NaN in the catalog differs too."""
    try:
        return bool(catalog_price != price)
    except InvalidOperation:
        return True


def _products(message: Message, catalog: Mapping[str, ProductInfo] | None) -> Iterator[Finding]:
    limits = rules_data.spam_patterns()["limits"]
    cards = list(CARD.finditer(message.body))
    distinct = {m.group(1) for m in cards}
    if len(distinct) > limits["products_per_push_warning"]:
        severity = (
            Severity.ERROR
            if len(distinct) > limits["products_per_push_error"]
            else Severity.WARNING
        )
        yield _f(
            "too-many-products",
            severity,
            "body",
            (cards[0].start(), cards[-1].end()),
            f"一次推送 {len(distinct)} 件商品，像在倾倒商品",
            f"{len(distinct)} products in one push reads like a dump",
            f"挑 {limits['products_per_push_warning']} 件以内最相关的",
            f"Pick at most {limits['products_per_push_warning']} of the most relevant",
        )
    seen: dict[str, tuple[Decimal, re.Match[str]]] = {}
    for m in cards:
        sku, price = m.group(1), _price(m.group(2))
        span = (m.start(), m.end())
        if catalog is not None and sku not in catalog:
            yield _f(
                "product-unknown",
                Severity.ERROR,
                "body",
                span,
                f"商品 {sku} 不在商品库中",
                f"Product {sku} is not in the catalog",
                "先导入商品或修正 SKU",
                "Import the product or fix the SKU",
            )
            continue
        if price is None:
            continue
        if sku in seen and seen[sku][0] != price:
            yield _f(
                "price-inconsistent",
                Severity.ERROR,
                "body",
                span,
                f"商品 {sku} 出现两个价格：¥{seen[sku][0]} 和 ¥{price}",
                f"Product {sku} has two prices: ¥{seen[sku][0]} and ¥{price}",
                "全文使用同一个价格",
                "Use one price throughout",
            )
        seen.setdefault(sku, (price, m))
        if catalog is not None and _differs(catalog[sku].price, price):
            yield _f(
                "price-mismatch",
                Severity.ERROR,
                "body",
                span,
                f"商品 {sku} 标价 ¥{price}，商品库为 ¥{catalog[sku].price}",
                f"Product {sku} shows ¥{price}; the catalog says ¥{catalog[sku].price}",
                f"改为 ¥{catalog[sku].price}，或先更新商品库",
                f"Use ¥{catalog[sku].price}, or update the catalog first",
            )
    if catalog:
        yield from _prices_in_text(message, catalog)


def _prices_in_text(message: Message, catalog: Mapping[str, ProductInfo]) -> Iterator[Finding]:
    """A catalog product named in the text followed closely by a different price."""
    for field in TEXT_FIELDS:
        text = getattr(message, field) or ""
        if not text:
            continue
        for product in catalog.values():
            if len(product.name) < 2:
                continue
            if product.name not in text:
                continue
            for m in re.finditer(re.escape(product.name), text):
                window = text[m.end() : m.end() + 20]
                p = PRICE.search(window)
                if not p:
                    continue
                price = _price(p.group(1) or p.group(2))
                if price is not None and _differs(product.price, price):
                    start = m.end() + p.start()
                    yield _f(
                        "price-mismatch",
                        Severity.ERROR,
                        field,
                        (start, m.end() + p.end()),
                        f"“{product.name}”写作 ¥{price}，商品库为 ¥{product.price}",
                        f"“{product.name}” is priced ¥{price} here; the catalog says ¥{product.price}",
                        f"改为 ¥{product.price}",
                        f"Use ¥{product.price}",
                    )


# --- labels and claims --------------------------------------------------------------


def _named_products(
    message: Message,
    catalog: Mapping[str, ProductInfo] | None,
    products: Iterable[ProductInfo] | None,
) -> list[ProductInfo]:
    """The products the message is about: those passed in, the catalog's products whose
    card is in the body, and those whose name (two characters or more) is in the text."""
    named: dict[str, ProductInfo] = {}
    for product in products or ():
        named.setdefault(product.sku, product)
    if catalog:
        for m in CARD.finditer(message.body):
            if m.group(1) in catalog:
                named.setdefault(m.group(1), catalog[m.group(1)])
        texts = [getattr(message, field) or "" for field in TEXT_FIELDS]
        for sku, product in catalog.items():
            if len(product.name) >= 2 and any(product.name in t for t in texts):
                named.setdefault(sku, product)
    return list(named.values())


def _claims(
    message: Message, named: list[ProductInfo], found: list[Finding]
) -> Iterator[Finding]:
    """Prices and 包邮 in the text against the named products (《广告法》第八条、第二十八条)."""
    if not named:
        return
    priced = [p for p in named if isinstance(p.price, Decimal) and p.price.is_finite()]
    not_free = [p for p in named if p.free_shipping is False]
    for field in TEXT_FIELDS:
        text = getattr(message, field) or ""
        if not text:
            continue
        # Prices in cards and those the catalog check already flagged are not repeated.
        taken = [f.span for f in found if f.field == field and f.code == "price-mismatch"]
        for mention in labels.price_mentions(text) if priced else ():
            span = (mention.start, mention.end)
            if _inside_url(text, mention.start) or any(s < span[1] and span[0] < e for s, e in taken):
                continue
            if any(labels.price_matches(mention, p.price) for p in priced):
                continue
            said = text[mention.start : mention.end]
            costs = "、".join(f"{p.name} {labels.yuan(p.price)}" for p in priced[:3])
            costs_en = ", ".join(f"{p.name} costs {labels.yuan(p.price)}" for p in priced[:3])
            yield _f(
                "claim-price",
                Severity.ERROR,
                field,
                span,
                f"文中价格“{said}”与所提商品的售价不符：{costs}（《广告法》第八条：价格表示应当准确）",
                f"The text says “{said}” but {costs_en} (Advertising Law art. 8: prices must be accurate)",
                "改为商品库中的售价，或先更新商品库；原价、优惠券等金额请写明（如“原价”“券”）",
                "Use the catalog price, or update the catalog first; label other amounts (原价 list price, 券 coupon)",
            )
        if not not_free:
            continue
        names = "、".join(p.name for p in not_free[:3])
        names_en = ", ".join(p.name for p in not_free[:3])
        for start, end in labels.free_shipping_claims(text):
            word = text[start:end]
            yield _f(
                "claim-free-shipping",
                Severity.ERROR,
                field,
                (start, end),
                f"文中写“{word}”，但商品库记录{names}不包邮（《广告法》第八条：允诺应当准确）",
                f"The text says “{word}” (free shipping) but the catalog says {names_en} does not ship free (Advertising Law art. 8)",
                f"删除“{word}”或注明哪些商品不包邮；如确实包邮，先更新商品库",
                f"Remove “{word}” or say which products do not ship free; if they do ship free, update the catalog first",
            )


def _ad_signal(message: Message, named: list[ProductInfo]) -> tuple[str, int, int] | None:
    """Where the message first reads as an advertisement: a promotion word or a call to
    buy. (A product card or a price alone does not decide it: a store's news of a new
    sofa is information until it urges a purchase.)"""
    words = [*rules_data.spam_patterns()["promotion"], *labels.ad_label()["call_to_buy"]["items"]]
    pattern = _words(words)
    candidates: list[tuple[int, int, int, str]] = []
    for rank, field in enumerate(TEXT_FIELDS):
        text = getattr(message, field) or ""
        if not text:
            continue
        hits = [(m.start(), m.end()) for m in pattern.finditer(text)]
        if hits:
            start, end = min(hits)
            candidates.append((rank, start, end, field))
    if not candidates:
        return None
    _, start, end, field = min(candidates)
    return field, start, end


def _ad_unmarked(message: Message, named: list[ProductInfo]) -> Iterator[Finding]:
    """An ad without a 广告 mark in its title or first screen (《互联网广告管理办法》第九条).
    Advice, not a warning to acknowledge: whether a push is an ad is the merchant's to
    judge, and the words that suggest it are a heuristic."""
    if message.kind == "template":
        return  # marketing in a template message is an error of its own
    signal = _ad_signal(message, named)
    if signal is None:
        return
    columns = rules_data.spam_patterns()["limits"]["first_screen_columns"]
    body = message.body or ""
    first_screen = (message.title, message.digest, body[: _cut_index(body, columns)])
    if any(labels.has_ad_mark(t or "") for t in first_screen):
        return
    field, start, end = signal
    word = (getattr(message, field) or "")[start:end]
    yield _f(
        "ad-unmarked",
        Severity.INFO,
        field,
        (start, end),
        f"“{word}”表明这是一条广告，但标题和首屏没有“广告”标识（《互联网广告管理办法》第九条、《广告法》第十四条：广告应当具有可识别性）",
        f"“{word}” makes this an advertisement, but neither the title nor the first screen marks it as one "
        "(Internet Advertising Measures art. 9, Advertising Law art. 14: ads must be identifiable)",
        "标注“广告”",
        "Mark it “广告” (advertisement) in the title or the first screen",
    )


def _ai_unlabelled(message: Message) -> Iterator[Finding]:
    """AI-generated content without an explicit label (《人工智能生成合成内容标识办法》,
    GB 45438-2025)."""
    if not message.ai_generated:
        return
    texts = [getattr(message, field) or "" for field in TEXT_FIELDS]
    texts += [template_rules.value_of(entry) for entry in message.data.values()]
    if any(labels.has_ai_label(t) for t in texts):
        return
    field = next(
        (f for f in ("body", "title", "digest") if (getattr(message, f) or "").strip()), "body"
    )
    yield _f(
        "ai-unlabelled",
        Severity.ERROR,
        field,
        (0, 0),
        "这条消息标记为 AI 生成，但正文没有显式标识（《人工智能生成合成内容标识办法》、GB 45438-2025）",
        "The message is marked AI-generated but carries no explicit label "
        "(Measures for Labelling AI-Generated Content, GB 45438-2025)",
        "在开头或结尾加上“本内容由AI生成”",
        "Add “本内容由AI生成” (generated by AI) at the start or the end",
    )


# --- links --------------------------------------------------------------------------


def _check_url(url: str) -> tuple[Severity, str, str] | None:
    if not url.strip():
        return Severity.ERROR, "链接为空", "The link is empty"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or "." not in parts.netloc:
        return Severity.ERROR, f"链接格式错误：{url}", f"Malformed link: {url}"
    if parts.scheme == "http":
        return Severity.WARNING, f"链接未使用 HTTPS：{url}", f"Link is not HTTPS: {url}"
    return None


def _links(message: Message) -> Iterator[Finding]:
    for field in TEXT_FIELDS:
        text = getattr(message, field) or ""
        md_spans: list[tuple[int, int]] = []
        for m in MD_LINK.finditer(text):
            md_spans.append((m.start(), m.end()))
            problem = _check_url(m.group(2))
            if problem:
                yield _link_finding(
                    field, (m.start(2), m.end(2)) if m.group(2) else (m.start(), m.end()), problem
                )
        for m in BARE_URL.finditer(text):
            if any(s <= m.start() < e for s, e in md_spans):
                continue
            problem = _check_url(m.group(1))
            if problem:
                yield _link_finding(field, (m.start(1), m.end(1)), problem)
    if message.cover_url:
        problem = _check_url(message.cover_url)
        if problem:
            yield _link_finding("cover_url", (0, len(message.cover_url)), problem)
    if message.kind == "news" and CARD.search(message.body) is None and not _has_link(message):
        yield _f(
            "link-missing",
            Severity.INFO,
            "body",
            (0, 0),
            "没有商品卡片或链接：读者看完无处可去",
            "No product card or link: readers have nowhere to go",
            "加一个商品卡片 [[SKU]] 或链接",
            "Add a product card [[SKU]] or a link",
        )


def _body_images(message: Message) -> Iterator[Finding]:
    """Images in an article's body that are not on WeChat's image host: the platform drops
    them from the article (外部图片url将被过滤) without refusing it."""
    if message.kind != "news":
        return
    hosts = load_article_limits().body_image_hosts
    for m in IMAGE.finditer(message.body):
        group = 1 if m.group(1) is not None else 2
        url = m.group(group)
        host = (urlsplit(url).hostname or "").lower()
        if host in hosts:
            continue
        yield _f(
            "image-external",
            Severity.ERROR,
            "body",
            (m.start(group), m.end(group)),
            f"正文图片不在微信图片服务器上，发出时会被公众平台删除：{url}",
            f"The body image is not on WeChat's image host; the platform removes it: {url}",
            "先把图片上传到素材库（上传图文消息内的图片），再使用返回的链接",
            "Upload the image to the material library (uploadimg) and use the link it returns",
        )


def _has_link(message: Message) -> bool:
    return any(
        MD_LINK.search(t) or BARE_URL.search(t)
        for t in (message.title, message.digest, message.body)
    )


def _link_finding(field: str, span: tuple[int, int], problem: tuple[Severity, str, str]) -> Finding:
    severity, zh, en = problem
    return _f(
        "link-malformed" if severity is Severity.ERROR else "link-insecure",
        severity,
        field,
        span,
        zh,
        en,
        "使用完整的 https:// 链接",
        "Use a full https:// link",
    )


# --- template messages --------------------------------------------------------------


def _template(message: Message, findings: list[Finding]) -> Iterator[Finding]:
    if message.kind != "template":
        return
    words = rules_data.spam_patterns()["promotion"]
    texts = {field: getattr(message, field) or "" for field in TEXT_FIELDS}
    texts.update(_shown_data(message))
    for field, text in texts.items():
        for word in words:
            i = text.find(word)
            if i >= 0:
                yield _marketing(field, word, i)
                return
    if any(f.code in ("ad-law-absolute", "spam-clickbait") for f in findings):
        yield _f(
            "template-marketing",
            Severity.ERROR,
            "kind",
            (0, 0),
            "模板消息含广告用语，微信禁止用模板消息营销",
            "The template message carries advertising; WeChat forbids marketing in template messages",
            "改用图文群发",
            "Send it as a news article instead",
        )
    yield from _template_data(message)


def _marketing(field: str, word: str, at: int) -> Finding:
    return _f(
        "template-marketing",
        Severity.ERROR,
        field,
        (at, at + len(word)),
        f"模板消息只能用于服务通知，“{word}”属于营销内容（微信禁止）",
        f"Template messages are for service notices only; “{word}” is marketing, which WeChat forbids",
        "改用图文群发，或只保留订单、预约等服务信息",
        "Send it as a news article, or keep only the service notice (order, appointment)",
    )


def _shown_data(message: Message) -> dict[str, str]:
    """The template data fields the platform shows, by finding field name."""
    hidden = template_rules.load_template_rules().hidden_fields
    return {
        f"data.{name}": template_rules.value_of(entry)
        for name, entry in message.data.items()
        if name not in hidden
    }


# Since 2023-05-04 the platform drops parts of a template message and cuts the rest
# (data/template_rules.json): what it would change is an error, what fencun drops itself
# before sending (first/remark, colours, emoji) a warning, so what passes is shown as sent.


def _template_data(message: Message) -> Iterator[Finding]:
    rules = template_rules.load_template_rules()
    for name, entry in message.data.items():
        field, text = f"data.{name}", template_rules.value_of(entry)
        if name in rules.hidden_fields:
            yield _hidden_field(field, name, text)
            continue
        yield from _template_text(field, text, rules.field_max_chars)
        if template_rules.colour_of(entry):
            yield _f(
                "template-colour",
                Severity.WARNING,
                field,
                (0, 0),
                "自 2023-05-04 起模板消息不显示自定义颜色，发送时将去掉颜色",
                "Since 2023-05-04 template messages show no custom colours; the colour is dropped before sending",
                "删除颜色设置",
                "Remove the colour",
            )


def _hidden_field(field: str, name: str, text: str) -> Finding:
    return _f(
        "template-hidden-field",
        Severity.WARNING,
        field,
        (0, len(text)),
        f"自 2023-05-04 起模板消息不再显示“{name}”（首行/备注），发送时将去掉这一项",
        f"Since 2023-05-04 template messages no longer show “{name}” (first line/remark); it is dropped before sending",
        "把要说的信息放进模板的正文字段",
        "Move what it says into one of the template's content fields",
    )


def _template_text(field: str, text: str, most: int) -> Iterator[Finding]:
    for m in template_rules.LINE_BREAK.finditer(text):
        yield _f(
            "template-line-break",
            Severity.ERROR,
            field,
            (m.start(), m.end()),
            "模板消息的字段不能换行，微信会去掉换行",
            "A template message field is shown on one line; WeChat removes the line break",
            "写成一行",
            "Write it on one line",
        )
    for start, end in template_rules.emoji_spans(text):
        yield _f(
            "template-emoji",
            Severity.WARNING,
            field,
            (start, end),
            "自 2023-05-04 起模板消息不显示表情符号，发送时将去掉",
            "Since 2023-05-04 template messages show no emoji; they are dropped before sending",
            "删除表情符号",
            "Remove the emoji",
        )
    kept = [i for i, ch in enumerate(text) if not template_rules.is_emoji_part(ch)]
    if len(kept) > most:
        yield _f(
            "template-field-cut",
            Severity.ERROR,
            field,
            (kept[most], len(text)),
            f"模板消息每个字段最多显示 {most} 个字，这一项有 {len(kept)} 个字，超出部分会被微信截掉",
            f"A template message field shows at most {most} characters; this one has {len(kept)}, and WeChat cuts the rest",
            f"缩短到 {most} 个字以内",
            f"Shorten it to {most} characters or fewer",
        )
