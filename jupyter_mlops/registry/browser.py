"""``RegistryView``: the state behind the registry browser (``mlops.models()``), usable without widgets.

view = RegistryView("churn")
view.promote(3, "champion")      # GateFailed if version 3 misses the alias' gate
view.demote("staging")
print(view)                      # models, then the selected model's versions and alias history
"""

from __future__ import annotations

import json
from typing import Any

from ..entities import AliasEvent, ModelVersion, RegisteredModel
from ..tracking.cards import format_time
from . import api
from .cards import ModelCard
from .refs import check_model_name


class RegistryView:
    """Registered models, one of them selected with its versions, alias gates and alias history."""

    def __init__(self, name: str | None = None) -> None:
        self.selected: str | None = None
        self.models: list[RegisteredModel] = []
        self.versions: list[ModelVersion] = []
        self.history: list[AliasEvent] = []
        self.gates: dict[str, str] = {}
        self.refresh(name)

    def refresh(self, name: str | None = None) -> None:
        """Read the registry again, keeping (or changing to) the selected model."""
        registry = api._registry()
        self.models = registry.models()
        names = [m.name for m in self.models]
        wanted = name or self.selected
        if name is not None and name not in names:
            check_model_name("model name", name)
            from ..errors import NotFound

            raise NotFound(f"no registered model named {name!r}: registered are {', '.join(names) or 'none'}")
        self.selected = wanted if wanted in names else (names[0] if names else None)
        if self.selected is None:
            self.versions, self.history, self.gates = [], [], {}
            return
        self.versions = registry.versions(self.selected)
        self.history = registry.alias_history(self.selected)
        model = next(m for m in self.models if m.name == self.selected)
        self.gates = {}
        for alias in model.aliases:
            stored = registry.alias_require(self.selected, alias)
            if stored:
                self.gates[alias] = ", ".join(f"{k}{v}" for k, v in json.loads(stored).items())

    def select(self, name: str) -> None:
        self.refresh(name)

    def promote(self, version: int, alias: str) -> ModelVersion:
        """Point ``alias`` at ``version`` of the selected model, through the alias' gate."""
        if self.selected is None:
            from ..errors import InvalidValue

            raise InvalidValue("no model selected: register one first with mlops.register_model")
        moved = api.set_alias(self.selected, alias, version)
        self.refresh()
        return moved

    def demote(self, alias: str) -> int:
        """Take ``alias`` off the selected model."""
        assert self.selected is not None
        before = api.remove_alias(self.selected, alias)
        self.refresh()
        return before

    def card(self, version: int) -> ModelCard:
        return ModelCard(next(v for v in self.versions if v.version == version))

    def rows(self) -> list[dict[str, Any]]:
        """The selected model's versions as plain dicts (what the widget's table shows)."""
        return [
            {
                "version": v.version,
                "aliases": list(v.aliases),
                "created": format_time(v.created_time),
                "author": v.author or "",
                "run": v.run_id or "",
                "flavor": f"{v.flavor} ({v.format})",
                "metrics": {k: (None if x != x else round(x, 6)) for k, x in sorted(v.metrics.items())},
                "flagged": bool((v.report or {}).get("groups", {}).get("flagged")),
            }
            for v in self.versions
        ]

    def history_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "alias": e.alias,
                "from": e.from_version,
                "to": e.to_version,
                "user": e.user or "",
                "time": format_time(e.time),
            }
            for e in reversed(self.history)
        ]

    def __str__(self) -> str:
        if not self.models:
            return "No registered models yet: mlops.register_model(model, 'name') registers one."
        out = ["Models:"]
        for m in self.models:
            aliases = ", ".join(f"@{a}->{v}" for a, v in m.aliases.items())
            out.append(f"  {m.name}  {m.versions} versions, latest {m.latest_version}  {aliases}".rstrip())
        out.append(f"\nVersions of {self.selected}:")
        for v in self.versions:
            metrics = ", ".join(f"{k}={x:.4g}" for k, x in sorted(v.metrics.items()))
            aliases = " ".join(f"@{a}" for a in v.aliases)
            run = v.run_id[:8] if v.run_id else "-"
            out.append(f"  {v.version:>3}  {aliases:<20} run {run}  {v.flavor}  {metrics}")
        if self.gates:
            out.append("\nGates: " + "; ".join(f"@{a} requires {g}" for a, g in self.gates.items()))
        if self.history:
            out.append("\nAlias history:")
            for e in reversed(self.history):
                moved = f"{e.from_version or '-'} -> {e.to_version or '-'}"
                out.append(f"  {format_time(e.time)}  @{e.alias}  {moved}  by {e.user or '?'}")
        return "\n".join(out)

    __repr__ = __str__
