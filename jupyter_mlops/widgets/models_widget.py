"""The registry browser: one anywidget over a ``RegistryView``.

    mlops.models()            # in a notebook

Models on the left; the selected model's versions with their metrics, alias badges (x demotes) and a
promote button per version (through the alias' gate); the alias history; and the card of the version
or run clicked (its report, its lineage). Clicks come back as custom messages, as in the compare widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from ..errors import MlopsError
from ..registry.browser import RegistryView

HERE = Path(__file__).parent


class ModelsWidget(anywidget.AnyWidget):
    """Everything ``mlops.models()`` shows in a notebook. ``.view`` holds the state."""

    _esm = HERE / "models_browser.js"
    _css = HERE / "models_browser.css"
    models: t.List[dict[str, Any]] = t.List().tag(sync=True)
    selected = t.Unicode("").tag(sync=True)
    versions: t.List[dict[str, Any]] = t.List().tag(sync=True)
    history: t.List[dict[str, Any]] = t.List().tag(sync=True)
    gates: t.Dict[str, str] = t.Dict().tag(sync=True)
    card = t.Unicode("").tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    deployable = t.Bool(False).tag(sync=True)  # the Deploy button appears once deployment exists

    def __init__(self, view: RegistryView) -> None:
        super().__init__()
        self.view = view
        self.on_msg(self._on_browser)
        self.deployable = _serving_installed()
        self._show()

    def _on_browser(self, _: Any, message: Any, buffers: Any = None) -> None:
        """{"type": "select" | "promote" | "demote" | "card" | "run" | "refresh", ...} from a click."""
        kind = message.get("type")
        self.error = self.message = ""
        try:
            if kind == "select":
                self.view.select(str(message["value"]))
                self.card = ""
            elif kind == "promote":
                alias = str(message.get("alias") or "").strip()
                moved = self.view.promote(int(message["version"]), alias)
                self.message = f"@{alias} -> version {moved.version}"
            elif kind == "demote":
                before = self.view.demote(str(message["alias"]))
                self.message = f"removed @{message['alias']} (was version {before})"
            elif kind == "card":
                self.card = self.view.card(int(message["version"])).html()
            elif kind == "run":
                from ..registry.api import show

                self.card = show(str(message["value"])).html()
            elif kind == "refresh":
                self.view.refresh()
            elif kind == "deploy":
                self.card = self._deploy(int(message["version"]))
        except MlopsError as err:  # a failed gate, a bad alias name: shown in the widget, never raised
            self.error = str(err)
        except Exception as err:  # anything else: shown too, an exception here would stall the page
            self.error = f"{type(err).__name__}: {err}"
        self._show()

    def _deploy(self, version: int) -> str:
        """One click: serve this version (replacing the model's deployment), then show its URL, health,
        a sample curl and the answer to a test request made from its signature's example."""
        from html import escape

        from ..errors import NotFound
        from ..serving.api import deploy, get_deployment
        from ..serving.loader import warm_up_rows

        name = self.view.selected or ""
        ref = f"{name}:{version}"
        try:
            running = get_deployment(name).status()["status"] == "healthy"
        except NotFound:
            running = False
        # the model's deployment now serves this version (the old one drains), or starts
        deployment = get_deployment(name).update(traffic={ref: 100}) if running else deploy(ref, name=name)
        self.message = f"{ref} is served at {deployment.url}"
        status = deployment.status()
        example = warm_up_rows(self.view.card(version).version.signature)
        rows = (
            example.to_json(orient="split", index=False)
            if example is not None
            else '{"columns": [], "data": []}'
        )
        body = '{"dataframe_split": ' + rows + "}"
        answer = deployment.predict(example) if example is not None else "(no signature: no example to send)"
        curl = f"curl -s {deployment.url}/invocations -H 'content-type: application/json' -d '{body}'"
        return (
            f'<div class="mlops-card mlops-deployed"><h3>Deployed {escape(ref)}</h3>'
            f"<p>URL <code>{escape(deployment.url)}</code>, health <b>{escape(status['status'])}</b></p>"
            f"<pre>{escape(curl)}</pre><p>test request answered: <code>{escape(str(answer))}</code></p></div>"
        )

    def _show(self) -> None:
        v = self.view
        self.models = [
            {"name": m.name, "versions": m.versions, "latest": m.latest_version, "aliases": m.aliases}
            for m in v.models
        ]
        self.selected = v.selected or ""
        self.versions = v.rows()
        self.history = v.history_rows()
        self.gates = v.gates


def _serving_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("uvicorn") is not None
