"""``ModelCard``: one registered version as HTML or text: lineage, signature, metrics and its report.

mlops.show("churn:3")      # or %mlops show churn@champion
"""

from __future__ import annotations

from typing import Any

from ..entities import ModelVersion
from ..tracking.cards import Card, Section, format_time


class ModelCard(Card):
    """A registered version: where it came from, how it loads, what it expects and how it scored."""

    def __init__(self, version: ModelVersion) -> None:
        self.version = version
        aliases = " ".join(f"@{a}" for a in version.aliases)
        self.title = f"Model {version.ref} {aliases}".rstrip()

    def sections(self) -> list[Section]:
        v = self.version
        about = [
            ("registered", f"{format_time(v.created_time)} by {v.author or '?'}"),
            ("flavor", f"{v.flavor} ({v.format})"),
            ("class", v.meta.get("class", "?").replace(":", ".")),
            ("sha256", v.sha256),
            ("run", v.run_id or "(a live object, no run)"),
        ]
        if v.meta.get("variable"):
            about.append(("variable", v.meta["variable"]))
        if v.meta.get("copied_from"):
            about.append(("copied from", v.meta["copied_from"]))
        if v.description:
            about.append(("description", v.description))
        sections = [Section("Version", about)]
        if v.signature:
            rows = [(i["name"], i["dtype"]) for i in v.signature.get("inputs", [])]
            sections.append(
                Section(f"Signature (from {v.signature.get('from', '?')})", rows, ("input", "dtype"))
            )
        sections.append(Section("Metrics", sorted(v.metrics.items()) or [("(none)", "")], ("name", "value")))
        sections.extend(report_sections(v.report))
        return sections


def report_sections(report: Any) -> list[Section]:
    """The report's evaluation, feature importance and per-group metrics as card sections."""
    if not report:
        return []
    sections = [
        Section(
            f"Evaluation on {report['rows']} held-out rows ({report['task']})",
            sorted(report["metrics"].items()),
            ("metric", "value"),
        ),
        Section(
            f"Feature importance: {report['importance_method']}",
            [(f["feature"], f["mean"], f["std"]) for f in report["importance"]],
            ("feature", "importance", "std"),
        ),
    ]
    if report.get("shap"):
        sections.append(
            Section(
                f"SHAP: {report['shap_method']}",
                [(f["feature"], f["mean_abs"]) for f in report["shap"]],
                ("feature", "mean |SHAP|"),
            )
        )
    groups = report.get("groups")
    if groups:
        metrics = list(report["metrics"])
        rows = [(g, s["rows"], *(s[m] for m in metrics)) for g, s in groups["metrics"].items()]
        gap = groups.get("largest_gap")
        title = f"Metrics by {groups.get('column') or 'group'}"
        if gap:
            flag = "FLAGGED: " if groups.get("flagged") else ""
            title += (
                f" ({flag}largest {gap['metric']} gap {gap['gap']:.3g} between "
                f"{gap['best']} and {gap['worst']})"
            )
        sections.append(Section(title, rows, ("group", "rows", *metrics)))
    return sections
