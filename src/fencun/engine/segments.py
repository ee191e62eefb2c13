"""The segment filter language: a small, safe, parsed language over the follower state.

Example::

    tag:vip and interest:sofa>=0.3 and distance<10km and not scene:qrcode
        and subscribed_days>30 and active_within:14d

Grammar (keywords are case-insensitive; whitespace separates nothing it need not)::

    filter    := or_expr END
    or_expr   := and_expr ( "or" and_expr )*
    and_expr  := unary ( "and" unary )*
    unary     := "not" unary | primary
    primary   := "(" or_expr ")" | predicate
    predicate := NAME ":" VALUE [ CMP NUMBER ]     labelled predicates
               | NAME CMP QUANTITY                 numeric comparisons
               | "subscribed" | "all"              flags
    CMP       := "<" | "<=" | ">" | ">=" | "=" | "==" | "!="
    VALUE     := a bare word (letters, digits, _ - . and any CJK) or a "double-quoted string"

Predicates:

========================  ===========================================================
``tag:NAME``              has the WeChat tag NAME
``wecom_tag:NAME``        a WeCom customer with the corp tag NAME (any follow user's)
``scene:NAME``            subscribed through scene NAME: an alias (qrcode, search, card,
                          link, item, paid, ad, reprint, livestream, channels,
                          migration, other) or a raw ``ADD_SCENE_*`` value
``channel:VALUE``         subscribed (latest) through the channel QR code whose scene
                          value is VALUE, e.g. ``channel:store42``
``interest:CAT``          interest in category CAT (id or name) >= 0.3; with a
                          comparison, e.g. ``interest:sofa>=0.5``. Interest is
                          ``1 - exp(-evidence/2)`` in [0, 1), evidence being reads,
                          clicks, keyword texts and orders, decayed (two-year half-life)
``active_within:14d``     interacted within the duration (``h``, ``d`` or ``w``)
``pushed_within:3d``      received a push within the duration
``has:location``          has shared a location
``distance<10km``         distance to the nearest store (``km`` or ``m``; unknown
                          distances never match a comparison)
``subscribed_days>30``    days since subscribing (unknown age never matches)
``pushes_7d<=2``          pushes received in the last 7 days
``orders>=1``             orders placed (all time)
``subscribed``            currently subscribed; ``all`` matches every row
========================  ===========================================================

Parsing builds an AST of dataclasses; :func:`compile_segment` turns it into a numpy
boolean mask over a :class:`~fencun.engine.state.FollowerState`. Nothing is ever evaluated
as code or SQL. Every error is a :class:`SegmentError` naming the 1-based column and the
offending token, e.g. ``unexpected token 'adn' at column 9``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fencun.engine.clock import DAY, HOUR
from fencun.engine.state import SCENE_ALIASES, normalise_scene

if TYPE_CHECKING:
    from fencun.engine.catalog import Category
    from fencun.engine.state import FollowerState

MAX_LENGTH = 2000
MAX_DEPTH = 50
DEFAULT_INTEREST = 0.3


class SegmentError(ValueError):
    """A filter that cannot be parsed or compiled. ``column`` is 1-based; ``token`` the culprit."""

    def __init__(self, message: str, column: int, token: str) -> None:
        super().__init__(message)
        self.column = column
        self.token = token


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, STRING, OP, LPAREN, RPAREN, COLON, END
    text: str
    pos: int  # 0-based offset


_OPS = ("<=", ">=", "!=", "==", "<", ">", "=")
_SPECIAL = set('()":<>=!')


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens; SegmentError on a stray character or an open string."""
    if len(text) > MAX_LENGTH:
        raise SegmentError(f"filter longer than {MAX_LENGTH} characters", MAX_LENGTH + 1, "")
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(Token("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("RPAREN", ch, i))
            i += 1
        elif ch == ":":
            tokens.append(Token("COLON", ch, i))
            i += 1
        elif ch == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise SegmentError(f"unterminated string at column {i + 1}", i + 1, text[i:])
            tokens.append(Token("STRING", "".join(buf), i))
            i = j + 1
        elif ch in "<>=!":
            op = next((o for o in _OPS if text.startswith(o, i)), None)
            if op is None:
                raise SegmentError(f"unexpected character {ch!r} at column {i + 1}", i + 1, ch)
            tokens.append(Token("OP", op, i))
            i += len(op)
        elif ch.isprintable():
            j = i
            while (
                j < n
                and not text[j].isspace()
                and text[j] not in _SPECIAL
                and text[j].isprintable()
            ):
                j += 1
            tokens.append(Token("WORD", text[i:j], i))
            i = j
        else:
            raise SegmentError(f"unexpected character {ch!r} at column {i + 1}", i + 1, ch)
    tokens.append(Token("END", "", n))
    return tokens


# ----- AST ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    item: Node


@dataclass(frozen=True)
class Predicate(Node):
    """``name`` is the field; ``label`` the value after ``:``; ``op``/``number`` a comparison
    (numbers in base units: km, seconds, days, counts)."""

    name: str
    label: str | None = None
    op: str | None = None
    number: float | None = None
    value_pos: int = 0


_LABELLED = {"tag", "wecom_tag", "scene", "channel", "interest", "active_within", "pushed_within", "has", "openid"}
_NUMERIC = {"distance", "subscribed_days", "pushes_7d", "orders"}
_FLAGS = {"subscribed", "all"}
_KEYWORDS = {"and", "or", "not"}
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([a-z]*)$")
_DURATION_UNITS = {"h": HOUR, "d": DAY, "w": 7 * DAY}
_LENGTH_UNITS = {"": 1.0, "km": 1.0, "m": 0.001}


def _describe(tok: Token) -> str:
    return "end of filter" if tok.kind == "END" else f"token {tok.text!r}"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, tok: Token, expected: str = "") -> SegmentError:
        hint = f"; expected {expected}" if expected else ""
        return SegmentError(
            f"unexpected {_describe(tok)} at column {tok.pos + 1}{hint}", tok.pos + 1, tok.text
        )

    def keyword(self, word: str) -> bool:
        tok = self.tok
        return tok.kind == "WORD" and tok.text.lower() == word

    def parse(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != "END":
            raise self.error(self.tok, "'and', 'or' or end of filter")
        return node

    def or_expr(self) -> Node:
        pos = self.tok.pos
        items = [self.and_expr()]
        while self.keyword("or"):
            self.i += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(pos, tuple(items))

    def and_expr(self) -> Node:
        pos = self.tok.pos
        items = [self.unary()]
        while self.keyword("and"):
            self.i += 1
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(pos, tuple(items))

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SegmentError(
                f"filter nested deeper than {MAX_DEPTH} at column {self.tok.pos + 1}",
                self.tok.pos + 1,
                self.tok.text,
            )
        try:
            if self.keyword("not"):
                pos = self.tok.pos
                self.i += 1
                return Not(pos, self.unary())
            return self.primary()
        finally:
            self.depth -= 1

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "LPAREN":
            self.i += 1
            node = self.or_expr()
            if self.tok.kind != "RPAREN":
                raise self.error(self.tok, "')'")
            self.i += 1
            return node
        if tok.kind != "WORD" or tok.text.lower() in _KEYWORDS:
            raise self.error(tok, "a condition such as tag:vip or distance<10km")
        name = tok.text.lower()
        self.i += 1
        if name in _FLAGS and self.tok.kind not in ("COLON", "OP"):
            return Predicate(tok.pos, name)
        if name in _LABELLED:
            return self.labelled(tok, name)
        if name in _NUMERIC:
            return self.numeric(tok, name)
        raise SegmentError(
            f"unknown condition {tok.text!r} at column {tok.pos + 1}", tok.pos + 1, tok.text
        )

    def labelled(self, name_tok: Token, name: str) -> Predicate:
        if self.tok.kind != "COLON":
            raise self.error(self.tok, f"':' after {name}")
        self.i += 1
        value = self.tok
        if value.kind not in ("WORD", "STRING") or value.text == "":
            raise self.error(value, f"a value for {name}:")
        self.i += 1
        label = value.text
        if name in ("active_within", "pushed_within"):
            seconds = self.quantity(value, _DURATION_UNITS, "a duration such as 14d, 48h or 2w")
            return Predicate(name_tok.pos, name, label, "<=", seconds, value.pos)
        if name == "has" and label.lower() != "location":
            raise SegmentError(
                f"unknown has:{label} at column {value.pos + 1}; expected has:location",
                value.pos + 1,
                label,
            )
        if name == "scene" and normalise_scene(label) not in set(SCENE_ALIASES.values()):
            raise SegmentError(
                f"unknown scene {label!r} at column {value.pos + 1}; expected one of {', '.join(SCENE_ALIASES)}",
                value.pos + 1,
                label,
            )
        if name == "interest":
            if self.tok.kind == "OP":
                op = self.tok.text
                self.i += 1
                num_tok = self.tok
                if num_tok.kind != "WORD":
                    raise self.error(num_tok, "a number between 0 and 1")
                self.i += 1
                number = self.quantity(num_tok, {"": 1.0}, "a number between 0 and 1")
                return Predicate(name_tok.pos, name, label, op, number, value.pos)
            return Predicate(name_tok.pos, name, label, ">=", DEFAULT_INTEREST, value.pos)
        return Predicate(name_tok.pos, name, label, None, None, value.pos)

    def numeric(self, name_tok: Token, name: str) -> Predicate:
        if self.tok.kind != "OP":
            raise self.error(self.tok, f"a comparison after {name}, e.g. {name}<10")
        op = self.tok.text
        self.i += 1
        num_tok = self.tok
        if num_tok.kind != "WORD":
            raise self.error(num_tok, "a number")
        self.i += 1
        units = (
            _LENGTH_UNITS
            if name == "distance"
            else {"": 1.0, "d": 1.0}
            if name == "subscribed_days"
            else {"": 1.0}
        )
        number = self.quantity(
            num_tok, units, "a number" + (" with km or m" if name == "distance" else "")
        )
        return Predicate(name_tok.pos, name, None, op, number, num_tok.pos)

    @staticmethod
    def quantity(tok: Token, units: dict[str, float], expected: str) -> float:
        m = _NUMBER.match(tok.text.lower())
        if not m or m.group(2) not in units:
            raise SegmentError(
                f"unexpected token {tok.text!r} at column {tok.pos + 1}; expected {expected}",
                tok.pos + 1,
                tok.text,
            )
        return float(m.group(1)) * units[m.group(2)]


def parse_segment(text: str) -> Node:
    """Parse a filter into an AST; SegmentError (with column and token) if it is not valid."""
    if not isinstance(text, str):
        raise SegmentError("a filter is text", 1, "")
    if not text.strip():
        raise SegmentError("empty filter at column 1; use null for all followers", 1, "")
    return _Parser(text).parse()


def check_segment(text: str, categories: list[Category]) -> Node:
    """Parse and check names that must exist (categories): what a form validator calls."""
    node = parse_segment(text)
    index = _category_lookup(categories)
    for pred in _predicates(node):
        if pred.name == "interest" and (pred.label or "").lower() not in index:
            raise _unknown_category(pred, categories)
    return node


def _predicates(node: Node) -> list[Predicate]:
    out: list[Predicate] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, Predicate):
            out.append(cur)
        elif isinstance(cur, And | Or):
            stack.extend(cur.items)
        elif isinstance(cur, Not):
            stack.append(cur.item)
    return out


def _category_lookup(categories: list[Category]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, c in enumerate(categories):
        index.setdefault(c.id.lower(), i)
        if c.name:
            index.setdefault(c.name.lower(), i)
    return index


def _unknown_category(pred: Predicate, categories: list[Category]) -> SegmentError:
    col = pred.value_pos + 1
    known = ", ".join(c.id for c in categories)
    return SegmentError(
        f"unknown category {pred.label!r} at column {col}; known: {known}", col, pred.label or ""
    )


def _compare(values: np.ndarray, op: str, number: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "<":
            out = values < number
        elif op == "<=":
            out = values <= number
        elif op == ">":
            out = values > number
        elif op == ">=":
            out = values >= number
        elif op in ("=", "=="):
            out = values == number
        else:
            out = values != number
    return out & ~np.isnan(values) if values.dtype.kind == "f" else out


def compile_segment(node: Node, state: FollowerState, now: float) -> np.ndarray:
    """Boolean mask per state row for a parsed filter at time ``now`` (epoch seconds)."""
    cats = _category_lookup(state.categories)
    cache: dict[str, np.ndarray] = {}

    def interest() -> np.ndarray:
        if "interest" not in cache:
            cache["interest"] = state.interest(now)
        return cache["interest"]

    def ev(cur: Node) -> np.ndarray:
        if isinstance(cur, And):
            out = ev(cur.items[0]).copy()
            for item in cur.items[1:]:
                out &= ev(item)
            return out
        if isinstance(cur, Or):
            out = ev(cur.items[0]).copy()
            for item in cur.items[1:]:
                out |= ev(item)
            return out
        if isinstance(cur, Not):
            return ~ev(cur.item)
        assert isinstance(cur, Predicate)
        return predicate(cur)

    def predicate(p: Predicate) -> np.ndarray:
        n = state.n
        if p.name == "all":
            return np.ones(n, dtype=np.bool_)
        if p.name == "subscribed":
            return state.subscribed.copy()
        if p.name == "tag":
            return state.tag_mask(p.label or "")
        if p.name == "wecom_tag":
            return state.wecom_tag_mask(p.label or "")
        if p.name == "openid":
            mask = np.zeros(n, dtype=np.bool_)
            row = state.index.get(p.label or "")
            if row is not None:
                mask[row] = True
            return mask
        if p.name == "channel":
            return state.channel_mask(p.label or "")
        if p.name == "scene":
            scene = normalise_scene(p.label or "")
            if scene not in state.scenes:
                return np.zeros(n, dtype=np.bool_)
            in_scene: np.ndarray = state.scene == state.scenes.index(scene)
            return in_scene
        if p.name == "has":
            located: np.ndarray = ~np.isnan(state.lat)
            return located
        if p.name == "interest":
            c = cats.get((p.label or "").lower())
            if c is None:
                raise _unknown_category(p, state.categories)
            assert p.op is not None and p.number is not None
            return _compare(interest()[:, c].astype(np.float64), p.op, p.number)
        if p.name == "active_within":
            return _compare(now - state.last_interaction_at, "<=", float(p.number or 0.0))
        if p.name == "pushed_within":
            return _compare(now - state.last_push_at, "<=", float(p.number or 0.0))
        assert p.op is not None and p.number is not None
        if p.name == "distance":
            return _compare(state.distance_km.astype(np.float64), p.op, p.number)
        if p.name == "subscribed_days":
            return _compare((now - state.subscribed_at) / DAY, p.op, p.number)
        if p.name == "pushes_7d":
            return _compare(state.pushes_within(now, 7 * DAY).astype(np.float64), p.op, p.number)
        if p.name == "orders":
            return _compare(state.orders.astype(np.float64), p.op, p.number)
        raise SegmentError(f"unknown condition {p.name!r} at column {p.pos + 1}", p.pos + 1, p.name)

    return ev(node)


def evaluate_segment(text: str | None, state: FollowerState, now: float) -> np.ndarray:
    """Mask of the rows a filter selects; ``None`` selects every row."""
    if text is None:
        return np.ones(state.n, dtype=np.bool_)
    return compile_segment(parse_segment(text), state, now)
