"""Readable views of stored runs: ``RunCard`` (one run) and ``RunDiff`` (two runs).

    mlops.show("3f2a")          # HTML in a notebook, text in a terminal
    mlops.diff("3f2a", "9c1b")

Each is built from ``Run`` records and renders both ways; every stored value is escaped in HTML.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..entities import Run

_STYLE = (
    "<style>.mlops-card{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px}"
    ".mlops-card table{border-collapse:collapse;margin:4px 0 10px}"
    ".mlops-card td,.mlops-card th{padding:2px 8px;text-align:left;border-bottom:1px solid #ddd}"
    ".mlops-card pre{background:#f6f8fa;padding:6px;max-height:400px;overflow:auto}"
    ".mlops-card .add{background:#e6ffec}.mlops-card .del{background:#ffebe9}"
    ".mlops-card .diff_add{background:#e6ffec}.mlops-card .diff_sub{background:#ffebe9}"
    ".mlops-card .diff_chg{background:#fff8c5}.mlops-code-diff td{font-family:monospace;border:none}</style>"
)


@dataclass(frozen=True)
class Section:
    """A titled block: rows of a table, or preformatted text."""

    title: str
    rows: Sequence[Sequence[Any]] = ()
    header: Sequence[str] = ()
    text: str | None = None
    diff: bool = False  # text is a unified diff: colour added and removed lines


class Card:
    title = ""

    def _side_by_side(self) -> str:
        return ""

    def sections(self) -> list[Section]:
        raise NotImplementedError

    def __str__(self) -> str:
        out = [self.title, "=" * len(self.title)]
        for s in self.sections():
            out.append(f"\n{s.title}")
            if s.text is not None:
                out.extend("    " + line for line in s.text.splitlines())
            else:
                table = [list(map(_text, s.header))] if s.header else []
                table += [[_text(v) for v in row] for row in s.rows]
                widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))] if table else []
                out.extend(
                    "    " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table
                )
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.html()

    def html(self, side_by_side: bool = False) -> str:
        """The card as HTML; ``side_by_side`` shows a code diff as two columns instead of a unified diff."""
        parts = [_STYLE, f'<div class="mlops-card"><h3>{escape(self.title)}</h3>']
        for s in self.sections():
            parts.append(f"<h4>{escape(s.title)}</h4>")
            if s.diff and side_by_side:
                parts.append(self._side_by_side())
            elif s.text is not None:
                parts.append(f"<pre>{_html_text(s)}</pre>")
            else:
                head = "".join(f"<th>{escape(h)}</th>" for h in s.header)
                body = "".join(
                    "<tr>" + "".join(f"<td>{escape(_text(v))}</td>" for v in row) + "</tr>" for row in s.rows
                )
                parts.append(f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>")
        parts.append("</div>")
        return "".join(parts)


class RunCard(Card):
    """One run: status, code, params, metrics, inputs, environment summary, artifacts."""

    def __init__(self, run: Run, registered: Sequence[str] = ()) -> None:
        self.run = run
        self.registered = tuple(registered)  # model versions registered from this run: churn:3
        self.title = f"Run {run.id[:8]} {run.name!r} in {run.experiment!r}: {run.status}"

    def sections(self) -> list[Section]:
        r = self.run
        about = [
            ("id", r.id),
            ("started", format_time(r.start_time)),
            ("ended", format_time(r.end_time) if r.end_time else "-"),
            ("duration", f"{r.end_time - r.start_time:.2f} s" if r.end_time else "-"),
            ("user@host", f"{r.user or '?'}@{r.host or '?'}"),
        ]
        if r.notebook:
            about.append(("notebook", r.notebook))
        if r.parent_id:
            about.append(("parent", r.parent_id))
        if self.registered:
            about.append(("registered as", ", ".join(self.registered)))
        sections = [Section("Run", about)]
        if r.error:
            sections.append(Section("Error", text=r.error))
        sections.append(Section("Parameters", sorted(r.params.items()), ("name", "value")))
        sections.append(Section("Metrics", sorted(r.metrics.items()), ("name", "latest")))
        if r.tags:
            sections.append(Section("Tags", sorted(r.tags.items()), ("name", "value")))
        if r.inputs:
            rows = [
                (i.name, "x".join(map(str, i.shape)), i.fingerprint[:12], _schema(i.schema)) for i in r.inputs
            ]
            sections.append(Section("Inputs", rows, ("variable", "shape", "fingerprint", "schema")))
        if r.code is not None:
            sections.append(Section("Code", text=r.code))
        cells = (r.context or {}).get("cells", [])
        if cells:
            text = "\n\n".join(f"# [{c['execution_count']}]\n{c['source']}" for c in cells)
            sections.append(Section(f"Context ({len(cells)} earlier cells)", text=text))
        if r.env:
            sections.append(Section("Environment", _env_rows(r.env)))
        if r.artifacts:
            files = [(a.path, a.kind, _size(a.size)) for a in r.artifacts]
            sections.append(Section("Artifacts", files, ("path", "kind", "size")))
        return sections


class RunDiff(Card):
    """Two runs: changed params, metrics with their difference, the code diff and package changes."""

    def __init__(self, a: Run, b: Run) -> None:
        self.a, self.b = a, b
        self.title = f"Runs {a.id[:8]} ({a.name}) vs {b.id[:8]} ({b.name})"

    @property
    def params(self) -> list[tuple[Any, ...]]:
        return _changed(self.a.params, self.b.params)

    @property
    def metrics(self) -> list[tuple[Any, ...]]:
        rows = []
        for key in sorted(self.a.metrics.keys() | self.b.metrics.keys()):
            va, vb = self.a.metrics.get(key), self.b.metrics.get(key)
            delta = vb - va if isinstance(va, float) and isinstance(vb, float) else None
            rows.append((key, va, vb, delta))
        return rows

    @property
    def code(self) -> str:
        lines = difflib.unified_diff(
            (self.a.code or "").splitlines(),
            (self.b.code or "").splitlines(),
            fromfile=self.a.id[:8],
            tofile=self.b.id[:8],
            lineterm="",
        )
        return "\n".join(lines)

    @property
    def packages(self) -> list[tuple[Any, ...]]:
        return _changed(self.a.env.get("packages", {}), self.b.env.get("packages", {}))

    def _side_by_side(self) -> str:
        """The two codes in two columns, changed lines marked (difflib escapes the text)."""
        table = difflib.HtmlDiff(wrapcolumn=70).make_table(
            (self.a.code or "").splitlines(),
            (self.b.code or "").splitlines(),
            self.a.id[:8],
            self.b.id[:8],
            context=False,
        )
        return f'<div class="mlops-code-diff">{table}</div>'

    def sections(self) -> list[Section]:
        a, b = self.a.id[:8], self.b.id[:8]
        return [
            Section("Parameters that differ", self.params or [("(none)", "", "")], ("name", a, b)),
            Section("Metrics", self.metrics, ("name", a, b, "difference")),
            Section("Code", text=self.code or "(same code)", diff=True),
            Section("Packages that differ", self.packages or [("(none)", "", "")], ("package", a, b)),
        ]


def _changed(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(k, a.get(k, "-"), b.get(k, "-")) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def _env_rows(env: dict[str, Any]) -> list[tuple[str, str]]:
    python, system, hw = env.get("python", {}), env.get("os", {}), env.get("hardware", {})
    rows = [
        ("python", f"{python.get('version', '?')} ({python.get('implementation', '')})"),
        ("os", f"{system.get('system', '?')} {system.get('release', '')} {system.get('machine', '')}"),
        ("cpu", f"{hw.get('cpu', '?')} x{hw.get('cpus', '?')}"),
        ("ram", _size(hw["ram_bytes"]) if hw.get("ram_bytes") else "?"),
        ("gpus", ", ".join(g.get("name", "?") for g in hw.get("gpus", [])) or "none"),
        ("packages", f"{len(env.get('packages', {}))} installed"),
    ]
    git = env.get("git")
    if git:
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        rows.append(("git", f"{git.get('commit', '?')[:10]} on {git.get('branch', '?')}{dirty}"))
    return rows


def _schema(schema: Any) -> str:
    if isinstance(schema, dict):
        items = [f"{k}: {v}" for k, v in schema.items()]
        return ", ".join(items[:6]) + (f", ... ({len(items)} columns)" if len(items) > 6 else "")
    return str(schema)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else str(value)


def format_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _html_text(section: Section) -> str:
    """Escaped text; a unified diff gets its added and removed lines coloured."""
    lines: Iterable[str] = (section.text or "").splitlines()
    if not section.diff:
        return escape(section.text or "")
    out = []
    for line in lines:
        cls = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        out.append(f'<span class="{cls}">{escape(line)}</span>' if cls else escape(line))
    return "\n".join(out)
