"""The monitor widget in real JupyterLab, in headless Chromium: a real deployment gets shifted
traffic from the notebook; the widget draws its charts, flags the drift and lists the fired alert."""

from __future__ import annotations

from labtools import SHOTS, open_and_run, write_notebook

CELLS = [
    "%load_ext jupyter_mlops\nimport jupyter_mlops as mlops\nimport numpy as np\nimport pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame({'tenure': rng.normal(24, 12, 2000), 'spend': rng.normal(70, 20, 2000)})\n"
    "y = (X.tenure < 20).astype(int)\n"
    "mlops.register_model(LogisticRegression().fit(X, y), 'churn', input_example=X.head(), reference=X)",
    "service = mlops.deploy('churn')\n"
    "shifted = X.sample(300, random_state=1).assign(tenure=lambda f: f.tenure + 30)\n"
    "for start in range(0, 300, 50):\n    service.predict(shifted.iloc[start:start + 50])\n"
    "mlops.add_alert('churn', 'drift', 0.5, window='1h')\nimport time; time.sleep(1)",
    "monitor = mlops.monitor('churn', every=2)\nmonitor",
]


def test_monitor_widget_shows_charts_drift_and_alerts(lab, page):
    write_notebook(lab.folder / "monitor.ipynb", CELLS)
    try:
        open_and_run(page, lab, "monitor.ipynb")
        widget = page.locator(".jp-OutputArea-output .mlops-monitor")
        widget.wait_for(timeout=120_000)
        widget.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        page.wait_for_function(
            "document.querySelector('.mlops-monitor') &&"
            " document.querySelector('.mlops-monitor').innerText.includes('churn: drift =')",
            timeout=60_000,
        )
        text = widget.inner_text()
        assert "Drift churn:1: DRIFT" in text and "wasserstein (normed)" in text
        assert widget.locator(".mlops-drift-yes").count() >= 1
        assert "churn: drift = " in text and ">= 0.5 over the last 3600 s" in text
        assert "requests / minute" in text and "p95 latency (ms)" in text
        page.wait_for_function(  # the reference-vs-current histogram of the first column
            "document.querySelectorAll('.mlops-monitor .js-plotly-plot .barlayer .trace').length >= 2",
            timeout=30_000,
        )
        page.screenshot(path=str(SHOTS / "monitor-1-drift-and-alert.png"), full_page=True)
    finally:
        import jupyter_mlops as mlops
        from jupyter_mlops.tracking import api

        mlops.connect(f"sqlite:///{lab.db}", artifacts=str(lab.folder / "artifacts"))
        try:
            mlops.get_deployment("churn").stop()
        finally:
            api.disconnect()
