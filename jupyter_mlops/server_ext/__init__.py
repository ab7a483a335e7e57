"""The Jupyter server extension: a REST API over the tracking database for the JupyterLab sidebar.

Enabled by ``jupyter-config/server-config/jupyter_mlops.json`` (installed with the package); its routes
live under ``<base_url>/jupyter-mlops/api/`` and are authenticated like every Jupyter route.
"""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .handlers import routes

    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", routes(base_url))
    server_app.log.info("jupyter_mlops: REST API at %sjupyter-mlops/api/", base_url)
