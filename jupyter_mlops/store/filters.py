"""The run filter language, parsed into SQLAlchemy expressions (user text never becomes SQL text).

MLflow's syntax plus ``or``, ``not``, parentheses, ``in (...)``, ``like``/``ilike`` and ``is [not] null``::

    metrics.acc > 0.9 and params.model = 'lr'
    (params.lr in (0.1, 0.01) or tags.stage like 'prod%') and attributes.status != 'failed'
    metrics.`val/loss` < 0.2 and not params.opt = 'sgd'

order_by: ``metrics.acc DESC``, ``-metrics.acc``, ``params.lr``, ``start_time``; several, comma separated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_, select

from ..errors import FilterSyntaxError
from . import models as m

ENTITIES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
ATTRIBUTES = (
    "run_id",
    "run_name",
    "status",
    "start_time",
    "end_time",
    "user",
    "host",
    "parent_id",
    "experiment",
    "source_hash",
)
_ALIASES = {"id": "run_id", "name": "run_name"}
_TIME_ATTRIBUTES = ("start_time", "end_time")
KEYWORDS = ("and", "or", "not", "in", "like", "ilike", "is", "null", "asc", "desc")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_]\w*)
    """,
    re.VERBOSE,
)
_KEY = re.compile(r"`(?:[^`]|``)+`|'(?:[^'\\]|\\.|'')+'|\"(?:[^\"\\]|\\.|\"\")+\"|[\w/:.\-]+")


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, op, punct, word, ident, end
    value: Any
    pos: int


@dataclass(frozen=True)
class Field:
    entity: str  # metrics, params, tags, attributes
    key: str


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "'\"":
                _fail(text, pos, "this string is never closed: end it with the same quote")
            _fail(text, pos, f"unexpected character {text[pos]!r}")
        assert match is not None  # _fail raised otherwise
        kind = match.lastgroup or ""
        if kind == "word" and match.group().lower() in ENTITIES and text.startswith(".", match.end()):
            key = _KEY.match(text, match.end() + 1)
            if key is None:
                _fail(
                    text,
                    match.end() + 1,
                    "expected a key name after the dot (quote it with `...` if it has spaces)",
                )
            assert key is not None  # _fail raised otherwise
            field = Field(ENTITIES[match.group().lower()], _unquote(key.group()))
            tokens.append(Token("ident", field, match.start()))
            pos = key.end()
            continue
        if kind == "string":
            tokens.append(Token("string", _unquote(match.group()), match.start()))
        elif kind == "number":
            tokens.append(Token("number", float(match.group()), match.start()))
        elif kind == "op":
            op = {"==": "=", "<>": "!="}.get(match.group(), match.group())
            tokens.append(Token("op", op, match.start()))
        elif kind in ("punct", "word"):
            tokens.append(
                Token(kind, match.group().lower() if kind == "word" else match.group(), match.start())
            )
        pos = match.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


def _unquote(raw: str) -> str:
    quote = raw[0]
    if quote not in "`'\"":
        return raw
    body = raw[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body) if quote != "`" else body


def _fail(text: str, pos: int, message: str) -> None:
    raise FilterSyntaxError(f"{message} at position {pos}:\n    {text}\n    {' ' * pos}^")


class Parser:
    """Recursive descent over the tokens; ``compile(field, op, value)`` builds each comparison."""

    def __init__(self, text: str, compile_comparison: Callable[[Field, str, Any], ColumnElement[bool]]):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.compile = compile_comparison

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.value in words:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: Any, what: str) -> None:
        token = self.take()
        if token.kind != kind or token.value != value:
            self.fail(token, f"expected {what}")

    def fail(self, token: Token, message: str) -> None:
        got = (
            "the end of the filter"
            if token.kind == "end"
            else repr(self.text[token.pos : token.pos + 20].split()[0])
        )
        _fail(self.text, token.pos, f"{message}, got {got}")

    def parse(self) -> ColumnElement[bool]:
        expr = self.or_expr()
        if self.peek().kind != "end":
            self.fail(self.peek(), "expected 'and', 'or' or the end of the filter")
        return expr

    def or_expr(self) -> ColumnElement[bool]:
        parts = [self.and_expr()]
        while self.word("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else or_(*parts)

    def and_expr(self) -> ColumnElement[bool]:
        parts = [self.not_expr()]
        while self.word("and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else and_(*parts)

    def not_expr(self) -> ColumnElement[bool]:
        if self.word("not"):
            return not_(self.not_expr())
        token = self.peek()
        if token.kind == "punct" and token.value == "(":
            self.take()
            expr = self.or_expr()
            self.expect("punct", ")", "')' to close the '(' opened before")
            return expr
        return self.comparison()

    def field(self) -> Field:
        token = self.take()
        if token.kind == "ident":
            return token.value
        if token.kind == "word" and (token.value in ATTRIBUTES or token.value in _ALIASES):
            return Field("attributes", _ALIASES.get(token.value, token.value))
        self.fail(token, "expected metrics.KEY, params.KEY, tags.KEY or an attribute such as status")
        raise AssertionError  # unreachable: fail raises

    def value(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        self.fail(token, "expected a number or a quoted string")

    def comparison(self) -> ColumnElement[bool]:
        field = self.field()
        token = self.peek()
        negate = self.word("not")
        if self.word("in"):
            self.expect("punct", "(", "'(' after 'in'")
            values = [self.value()]
            while self.peek().value == ",":
                self.take()
                values.append(self.value())
            self.expect("punct", ")", "')' or ',' in the list")
            expr = self.compile(field, "in", values)
        elif self.word("like", "ilike"):
            op = self.tokens[self.i - 1].value
            pattern = self.value()
            if not isinstance(pattern, str):
                self.fail(self.tokens[self.i - 1], f"'{op}' needs a quoted pattern such as 'prod%'")
            expr = self.compile(field, op, pattern)
        elif negate:
            self.fail(token, "expected 'in' or 'like' after 'not'")
            raise AssertionError
        elif self.word("is"):
            is_not = self.word("not")
            self.expect("word", "null", "'null' after 'is'")
            expr = self.compile(field, "is not null" if is_not else "is null", None)
        else:
            op_token = self.take()
            if op_token.kind != "op":
                self.fail(op_token, "expected a comparison (=, !=, <, <=, >, >=, in, like, is null)")
            expr = self.compile(field, op_token.value, self.value())
        return not_(expr) if negate else expr


# -- compiling comparisons against the runs query ---------------------------------------------------
def compile_filter(text: str, attributes: dict[str, Any]) -> ColumnElement[bool]:
    """Parse ``text`` into a boolean expression over ``runs`` (joined to experiments).

    ``attributes`` maps attribute names to column expressions (status is computed: see search.py).
    """
    return Parser(text, lambda f, op, v: _comparison(f, op, v, attributes, text)).parse()


def _comparison(
    field: Field, op: str, value: Any, attributes: dict[str, Any], text: str
) -> ColumnElement[bool]:
    if field.entity == "attributes":
        if field.key not in attributes:
            raise FilterSyntaxError(f"unknown attribute {field.key!r}: use one of {', '.join(ATTRIBUTES)}")
        column = attributes[field.key]
        if field.key in _TIME_ATTRIBUTES:
            value = [_time(v) for v in value] if isinstance(value, list) else _time(value)
        return _apply(column, op, value)
    if field.entity == "metrics":
        table, column = m.latest_metrics, m.latest_metrics.c.value
        if op in ("like", "ilike") or any(isinstance(v, str) for v in _as_list(value)):
            raise FilterSyntaxError(
                f"metrics.{field.key} is a number: compare it with a number, not a string"
            )
    elif field.entity == "params":
        table = m.params
        numeric = op not in ("like", "ilike") and all(isinstance(v, float) for v in _as_list(value))
        column = m.params.c.num if numeric and op not in ("is null", "is not null") else m.params.c.value
    else:
        table, column = m.tags, m.tags.c.value
        if op not in ("is null", "is not null"):
            value = [_text(v) for v in value] if isinstance(value, list) else _text(value)
    has_key = select(table.c.run_id).where(table.c.key == field.key)
    if op == "is null":
        return m.runs.c.id.not_in(has_key)
    if op == "is not null":
        return m.runs.c.id.in_(has_key)
    return m.runs.c.id.in_(has_key.where(_apply(column, op, value)))


def _apply(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "in":
        return column.in_(value)
    if op == "like":
        return column.like(value)
    if op == "ilike":
        return column.ilike(value)
    if op == "is null":
        return column.is_(None)
    if op == "is not null":
        return column.is_not(None)
    return {
        "=": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }[op](value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """Tag values are text: 3 matches '3', 0.5 matches '0.5'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _time(value: Any) -> float:
    """Times compare as epoch seconds; an ISO date string ('2026-11-01' or with a time) works too."""
    if isinstance(value, float):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FilterSyntaxError(
            f"{value!r} is not a time: write epoch seconds or an ISO date like '2026-11-01'"
        ) from None
    return parsed.timestamp() if parsed.tzinfo else parsed.astimezone().timestamp()


# -- order_by ---------------------------------------------------------------------------------------
def parse_order_by(order_by: str | list[str] | None) -> list[tuple[Field, bool]]:
    """``"metrics.acc DESC, params.lr"`` or ``["-metrics.acc"]`` -> [(Field, descending), ...]."""
    if order_by is None:
        return []
    items = order_by if isinstance(order_by, list | tuple) else [order_by]
    result: list[tuple[Field, bool]] = []
    for item in items:
        for part in _split_commas(str(item)):
            text = part.strip()
            descending = text.startswith("-")
            text = text.lstrip("-").strip()
            parser = Parser(text, lambda f, op, v: None)  # type: ignore[arg-type,return-value]
            if parser.peek().kind == "end":
                _fail(str(item), 0, "empty order_by item: write e.g. 'metrics.acc DESC'")
            field = parser.field()
            if parser.word("desc"):
                descending = True
            else:
                parser.word("asc")
            if parser.peek().kind != "end":
                parser.fail(parser.peek(), "expected ASC, DESC or ',' after the order_by key")
            result.append((field, descending))
    return result


def _split_commas(text: str) -> list[str]:
    """Split on commas outside quotes and backticks."""
    parts: list[str] = []
    current: list[str] = []
    depth_quote: str | None = None
    for ch in text:
        if depth_quote:
            depth_quote = None if ch == depth_quote else depth_quote
        elif ch in "`'\"":
            depth_quote = ch
        elif ch == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts
