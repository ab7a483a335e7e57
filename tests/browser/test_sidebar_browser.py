"""The JupyterLab extension in real JupyterLab, in headless Chromium: the sidebar lists the runs a
notebook in the same test just tracked, a click shows a run's code and params, the cell-toolbar button
inserts the magic, and the status bar counts the run in progress."""

from __future__ import annotations

import time

from labtools import SHOTS, open_and_run, write_notebook

import jupyter_mlops as mlops
from jupyter_mlops.tracking import api

CELLS = [
    "%load_ext jupyter_mlops\nimport jupyter_mlops as mlops",
    "%%experiment sidebar -n first\nalpha = 0.5\nfor i in range(5):\n"
    "    mlops.log_metric('loss', 1 / (i + 1))\nscore = alpha * 2",
    "%%experiment sidebar -n slow\nimport time\ntime.sleep(40)",
    "x = 1",
]


def wait_for_runs(lab, names, timeout=90.0):
    """Wait until the notebook's runs exist in the database (the kernel writes them)."""
    mlops.connect(f"sqlite:///{lab.db}", str(lab.folder / "artifacts"))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = mlops.runs("sidebar")
            if set(names) <= set(frame.run_name):
                return frame
            time.sleep(0.5)
        raise AssertionError(f"runs {names} never appeared")
    finally:
        api.disconnect()


def test_sidebar_lists_runs_shows_details_toolbar_inserts_the_magic_status_counts(lab, page):
    write_notebook(lab.folder / "sidebar.ipynb", CELLS)
    open_and_run(page, lab, "sidebar.ipynb")
    frame = wait_for_runs(lab, ["first", "slow"])
    first = frame[frame.run_name == "first"].run_id.item()

    # the status bar: the tracking URL, and the sleeping cell's run in progress
    status = page.locator(".jp-mlops-status")
    page.wait_for_function(
        "document.querySelector('.jp-mlops-status') &&"
        " document.querySelector('.jp-mlops-status').textContent.includes('1 run in progress')",
        timeout=30_000,
    )
    assert f"sqlite:///{lab.db}" in status.inner_text()

    # the sidebar: experiments -> runs -> details
    assert page.locator(".jp-SideBar [data-id='jupyter-mlops-sidebar']").count() == 1  # its tab
    page.evaluate("window.jupyterapp.commands.execute('jupyter-mlops:open-sidebar')")
    sidebar = page.locator("#jupyter-mlops-sidebar")
    sidebar.wait_for(state="visible", timeout=30_000)
    sidebar.locator(".jp-mlops-experiment[data-name='sidebar']").click()
    run = sidebar.locator(f".jp-mlops-run[data-run-id='{first}']")
    run.wait_for(timeout=30_000)
    assert sidebar.locator(".jp-mlops-run").count() == 2
    assert "finished" in run.inner_text() and "score=1" in run.inner_text()
    run.click()
    details = sidebar.locator(".jp-mlops-details")
    details.wait_for(timeout=30_000)
    assert "alpha = 0.5" in details.locator(".jp-mlops-code").inner_text()
    assert "alpha" in details.locator(".jp-mlops-params").inner_text()
    assert "0.5" in details.locator(".jp-mlops-params").inner_text()
    assert details.locator(".jp-mlops-curve").count() == 1  # the loss curve
    page.screenshot(path=str(SHOTS / "sidebar-1-run-details.png"), full_page=True)

    # the cell toolbar's button puts %%experiment on the active cell
    last = page.locator(".jp-Notebook .jp-Cell").nth(3)
    last.click()
    button = last.locator(".jp-cell-toolbar [data-command='jupyter-mlops:track-cell']")
    button.wait_for(timeout=30_000)
    button.click()
    page.wait_for_function(
        "window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.getSource()"
        ".startsWith('%%experiment\\nx = 1')",
        timeout=10_000,
    )
    page.screenshot(path=str(SHOTS / "sidebar-2-track-cell.png"), full_page=True)
    page.evaluate("window.jupyterapp.commands.execute('kernelmenu:interrupt')")

    # the workspace `jupyter mlops ui` opens shows the sidebar by itself
    page.goto(f"{lab.url}/lab/workspaces/mlops?token={lab.token}")
    page.locator("#jupyter-mlops-sidebar .jp-mlops-experiment[data-name='sidebar']").wait_for(
        state="visible", timeout=60_000
    )


def test_the_plugin_activates_in_notebook_7(tmp_path, browser):
    """Notebook 7 shares JupyterLab's extensions: the plugin activates there, with its command."""
    import json
    import os
    import urllib.request

    from jupyter_servers import JupyterServer

    write_notebook(tmp_path / "nb7.ipynb", ["x = 1"])
    env = {**os.environ, "JUPYTER_MLOPS_URL": f"sqlite:///{tmp_path / 'mlops.db'}"}
    server = JupyterServer(tmp_path, env, "notebook", ["--JupyterNotebookApp.expose_app_in_browser=True"])
    try:
        reply = urllib.request.urlopen(f"{server.url}/jupyter-mlops/api/status?token={server.token}")
        assert json.loads(reply.read())["running"] == 0
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        page.goto(f"{server.url}/notebooks/nb7.ipynb?token={server.token}")
        # the plugin's activate() adds its commands (Notebook 7 shows no status bar on this page)
        page.wait_for_function(
            "window.jupyterapp && window.jupyterapp.commands.hasCommand('jupyter-mlops:track-cell')",
            timeout=60_000,
        )
        assert page.evaluate("window.jupyterapp.commands.isEnabled('jupyter-mlops:track-cell')") in (
            True,
            False,
        )
        page.screenshot(path=str(SHOTS / "sidebar-3-notebook7.png"))
        context.close()
    finally:
        server.stop()
