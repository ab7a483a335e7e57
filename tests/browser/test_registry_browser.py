"""The registry browser and the compare widget's "Register model..." in real JupyterLab, in headless
Chromium. What the clicks did is read back from the database the notebook wrote."""

from __future__ import annotations

from labtools import SHOTS, open_and_run, write_notebook

CELLS = [
    "%load_ext jupyter_mlops\nimport jupyter_mlops as mlops\nimport numpy as np\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "rng = np.random.default_rng(0)\nX = rng.normal(size=(300, 3))\ny = (X[:, 0] > 0).astype(int)",
    *[
        f"%%experiment registry -n C-{c}\nC = {c}\nclf = LogisticRegression(C=C).fit(X{cols}, y)\n"
        f"acc = float(clf.score(X{cols}, y))"
        for c, cols in [(1.0, ""), (0.5, "[:, 1:]")]
    ],
    "runs = mlops.runs('registry', order_by='start_time').run_id.tolist()\n"
    "mlops.register_model(runs[0], 'churn', alias='champion')\n"
    "mlops.register_model(runs[1], 'churn')\n"
    "mlops.register_model(runs[0], 'churn')\n"
    "mlops.set_alias('churn', 'production', 1, require='acc>=0.9')",
    "mlops.models('churn')",
    "mlops.compare('registry')",
]


def version_row(page, version):
    return page.locator(f".mlops-models .mlops-versions tr[data-version='{version}']")


def wait_for_alias(page, alias, version):
    page.wait_for_function(
        "([alias, version]) => { const b = document.querySelector("
        "`.mlops-models tr[data-version='${version}'] .mlops-alias[data-alias='${alias}']`); return !!b; }",
        arg=[alias, version],
        timeout=30_000,
    )


def test_registry_browser_lists_promotes_through_gates_and_register_from_compare(lab, page):
    write_notebook(lab.folder / "registry.ipynb", CELLS)
    open_and_run(page, lab, "registry.ipynb")
    browser = page.locator(".jp-OutputArea-output .mlops-models")
    browser.wait_for(timeout=90_000)
    page.wait_for_function(
        "document.querySelectorAll('.mlops-models .mlops-versions tbody tr').length === 3", timeout=30_000
    )
    assert browser.locator(".mlops-model[data-name='churn']").count() == 1
    assert version_row(page, 1).locator(".mlops-alias[data-alias='champion']").count() == 1
    assert version_row(page, 1).locator(".mlops-alias[data-alias='production']").count() == 1
    assert "@production requires acc>=0.9" in browser.locator(".mlops-gates").inner_text()
    page.screenshot(path=str(SHOTS / "registry-1-rendered.png"), full_page=True)

    # promote v3 to @champion: the badge moves from v1 to v3
    browser.locator(".mlops-alias-input").fill("champion")
    version_row(page, 3).locator(".mlops-promote").click()
    wait_for_alias(page, "champion", 3)
    assert version_row(page, 1).locator(".mlops-alias[data-alias='champion']").count() == 0
    assert "@champion -> version 3" in browser.locator(".mlops-message").inner_text()

    # v2 (trained without the informative column) fails @production's gate: error shown, alias stays
    browser.locator(".mlops-alias-input").fill("production")
    version_row(page, 2).locator(".mlops-promote").click()
    error = browser.locator(".mlops-error")
    page.wait_for_function(
        "document.querySelector('.mlops-models .mlops-error').textContent.includes('cannot become')",
        timeout=30_000,
    )
    assert "churn:2 cannot become @production: gate acc>=0.9 failed" in error.inner_text()
    assert version_row(page, 1).locator(".mlops-alias[data-alias='production']").count() == 1
    history = [r.inner_text() for r in browser.locator(".mlops-history tr").all()]
    assert any("@champion" in r and "1 → 3" in r for r in history)

    # click through to the run card of a version
    version_row(page, 2).locator(".mlops-run").click()
    browser.locator(".mlops-card-pane .mlops-card h3", has_text="Run ").wait_for(timeout=30_000)
    assert "registered as" in browser.locator(".mlops-card-pane").inner_text()
    page.screenshot(path=str(SHOTS / "registry-2-promoted-gate-refused.png"), full_page=True)

    # one click deploys a version: URL, health, a sample curl and a test request's answer
    version_row(page, 3).locator(".mlops-deploy").click()
    deployed = browser.locator(".mlops-card-pane .mlops-deployed")
    deployed.wait_for(timeout=90_000)
    text = deployed.inner_text()
    assert "Deployed churn:3" in text and "health healthy" in text and "curl -s http://127.0.0.1:" in text
    assert "test request answered: [" in text
    page.screenshot(path=str(SHOTS / "registry-3-deployed.png"), full_page=True)

    # the compare widget registers the selected run's model
    compare = page.locator(".jp-OutputArea-output .mlops-compare")
    compare.locator(".mlops-runs tbody tr").first.locator("input[type=checkbox]").check()
    compare.get_by_role("button", name="Register model...").click()
    form = compare.locator(".mlops-register-form")
    form.wait_for(state="visible", timeout=30_000)
    form.get_by_placeholder("model name, e.g. churn").fill("from-compare")
    form.get_by_role("button", name="Register", exact=True).click()
    form.locator("text=registered from-compare:1").wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "registry-4-registered-from-compare.png"), full_page=True)

    import jupyter_mlops as mlops
    from jupyter_mlops.tracking import api

    mlops.connect(f"sqlite:///{lab.db}", artifacts=str(lab.folder / "artifacts"))
    try:
        assert mlops.get_model_version("churn@champion").version == 3
        assert mlops.get_model_version("churn@production").version == 1
        newest = mlops.runs("registry", order_by="-start_time").run_id[0]
        assert mlops.get_model_version("from-compare:1").run_id == newest
        served = mlops.get_deployment("churn")
        assert served.status()["routes"][0]["model"] == "churn:3"
        served.stop()
    finally:
        api.disconnect()
