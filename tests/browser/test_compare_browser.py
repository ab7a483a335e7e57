"""The compare widget and the live chart in real JupyterLab, in headless Chromium."""

from __future__ import annotations

from labtools import SHOTS, open_and_run, write_notebook

CELLS = [
    "%load_ext jupyter_mlops\nimport jupyter_mlops as mlops, time",
    *[
        f"%%experiment browser -n run-{i} -p lr={lr}\nlr = 1.0\nfor step in range(20):\n"
        f"    mlops.log_metric('loss', 1 / (step + 1) + lr)\n    time.sleep(0.01)\nacc = float({acc})"
        for i, (lr, acc) in enumerate([(0.1, 0.71), (0.01, 0.93), (0.001, 0.82)])
    ],
    "with mlops.start_run('browser-api', name='api-run') as run:\n"
    "    for step in range(10):\n        run.log_metric('x', step * step)",
    "mlops.compare('browser')",
]


def rows(page):
    return page.locator(".mlops-runs tbody tr")


def first_column(page):
    return [rows(page).nth(i).locator("td").nth(1).inner_text() for i in range(rows(page).count())]


def wait_for_order(page, names):
    """The table is redrawn when Python answers the click: wait for that, not for the header."""
    script = (
        "names => JSON.stringify([...document.querySelectorAll('.mlops-runs tbody tr')]"
        ".map(tr => tr.cells[1].textContent)) === JSON.stringify(names)"
    )
    try:
        page.wait_for_function(script, arg=names, timeout=30_000)
    except Exception:
        raise AssertionError(f"table order {first_column(page)}, expected {names}") from None


def test_compare_widget_renders_sorts_selects_and_diffs(lab, page):
    write_notebook(lab.folder / "compare.ipynb", CELLS)
    open_and_run(page, lab, "compare.ipynb")
    table = page.locator(".jp-OutputArea-output .mlops-runs")
    table.wait_for(timeout=90_000)
    page.wait_for_function("document.querySelectorAll('.mlops-runs tbody tr').length === 3", timeout=30_000)
    headers = [h.inner_text() for h in table.locator("th").all()]
    assert headers[:3] == ["run_name", "status", "params.lr"] and "metrics.acc" in headers
    assert table.locator(".mlops-badge.mlops-finished").count() == 3
    # the parallel-coordinates plot and the (empty until selection) curves chart are drawn by plotly
    page.locator(".jp-OutputArea-output .js-plotly-plot .parcoords").first.wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "compare-1-rendered.png"), full_page=True)

    assert first_column(page) == ["run-2", "run-1", "run-0"]  # newest first
    table.locator("th", has_text="metrics.acc").click()  # ascending
    wait_for_order(page, ["run-0", "run-2", "run-1"])
    assert "metrics.acc ▲" in [h.inner_text() for h in table.locator("th").all()]
    page.wait_for_timeout(500)
    table.locator("th", has_text="metrics.acc").click()  # descending
    wait_for_order(page, ["run-1", "run-2", "run-0"])
    assert "metrics.acc ▼" in [h.inner_text() for h in table.locator("th").all()]

    rows(page).nth(0).locator("input[type=checkbox]").check()
    rows(page).nth(2).locator("input[type=checkbox]").check()
    diff = page.locator(".jp-OutputArea-output .mlops-card", has_text="Parameters that differ")
    diff.wait_for(timeout=30_000)
    assert "lr" in diff.inner_text() and "0.01" in diff.inner_text() and "0.1" in diff.inner_text()
    assert page.locator(".jp-OutputArea-output .mlops-code-diff").count() == 1
    curves = page.locator(".jp-OutputArea-output .js-plotly-plot .scatterlayer .trace")
    page.wait_for_function(
        "document.querySelectorAll('.jp-OutputArea-output .js-plotly-plot .scatterlayer .trace').length >= 2",
        timeout=30_000,
    )
    assert curves.count() >= 2
    page.screenshot(path=str(SHOTS / "compare-2-sorted-selected-diff.png"), full_page=True)

    # the live charts (three %%experiment cells, one start_run) were replaced by static charts that
    # stay in the notebook
    assert page.locator(".jp-OutputArea-output svg.mlops-static-chart").count() == 4
