"""The documentation site: a strict MkDocs build, then a real browser on it.

Collected in the JAX process only (see conftest.py): the site does not depend
on the backend. The browser is headless Chromium driven by Selenium through
the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs
them); the built site is served from 127.0.0.1 by `http.server` in a thread,
and no page may load anything from the network or log a console error.

Set `KERAS_GRAFT_SCREENSHOTS=<folder>` to also keep the screenshots there (the
copies in `docs/assets/screenshots/` were made that way).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site once with `mkdocs build --strict`: (folder, log, seconds)."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    return out, proc, seconds


def test_mkdocs_build_strict(site):
    out, proc, seconds = site
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    warnings = [
        line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))
    ]
    assert warnings == [], "\n".join(warnings)
    print(f"mkdocs build --strict: {seconds:.1f} s")
    for page in (
        "index.html",
        "installation/index.html",
        "concepts/index.html",
        "players/index.html",
        "results/index.html",
        "changelog/index.html",
        "tutorials/01_quickstart/index.html",
        "tutorials/05_extending/index.html",
        "api/optimizers/index.html",
        "api/gan/index.html",
        "api/callbacks/index.html",
        "api/datasets/index.html",
        "api/metrics/index.html",
        "api/experiments/index.html",
        "api/cli/index.html",
    ):
        assert (out / page).is_file(), page


def test_api_pages_document_every_public_name(site):
    out, proc, _ = site
    assert proc.returncode == 0
    import keras_graft

    modules = {
        "optimizers": keras_graft.optimizers.__all__,
        "callbacks": keras_graft.callbacks.__all__,
        "datasets": keras_graft.datasets.__all__,
        "metrics": keras_graft.metrics.__all__,
        "gan": [*keras_graft.gan.__all__, *keras_graft.gan.losses.__all__],
    }
    import importlib.util

    if importlib.util.find_spec("keras_graft.experiments") is not None:
        import keras_graft.experiments

        modules["experiments"] = keras_graft.experiments.__all__
    for page, names in modules.items():
        html = (out / "api" / page / "index.html").read_text(encoding="utf-8")
        missing = [n for n in names if 'id="keras_graft.' not in html or n not in html]
        if page == "experiments":
            missing = [
                n for n in names if f'id="keras_graft.experiments.{n}' not in html
            ]
        assert missing == [], (page, missing)


def test_site_loads_nothing_from_the_network(site):
    """No web font, CDN script or stylesheet: the site works offline."""
    out, proc, _ = site
    assert proc.returncode == 0
    offenders = []
    for folder, _, names in os.walk(out):
        for name in names:
            if name.endswith(".html"):
                html = open(os.path.join(folder, name), encoding="utf-8").read()
                for needle in (
                    'src="http',
                    "src='http",
                    'href="https://fonts.',
                    "@import url(http",
                    'rel="stylesheet" href="http',
                ):
                    if needle in html:
                        offenders.append(f"{name}: {needle}")
    assert offenders == []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site):
    out, proc, _ = site
    assert proc.returncode == 0, proc.stdout + proc.stderr
    handler = functools.partial(_QuietHandler, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), (
        "headless Chromium is needed: apt-get install -y chromium chromium-driver "
        "(.ci/run does it)"
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=CHROMEDRIVER)
    )
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _open(driver, url):
    """Load a page, wait for it (and KaTeX) to settle; return its console errors."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    time.sleep(1.0)  # deferred scripts: search worker, KaTeX auto-render
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _screenshot(driver, tmp_path, name):
    path = tmp_path / name
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    keep = os.environ.get("KERAS_GRAFT_SCREENSHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(path, os.path.join(keep, name))
    return path


def _count(driver, css):
    return driver.execute_script(f"return document.querySelectorAll({css!r}).length")


def test_home_page_renders(browser, server, tmp_path):
    errors = _open(browser, server)
    assert errors == []
    h1 = browser.execute_script(
        "return document.querySelector('article h1').textContent"
    )
    assert "keras_graft" in h1
    assert _count(browser, "article pre code") >= 2
    assert _count(browser, "article table") >= 1
    assert "Grafted optimizers" in browser.find_element("tag name", "article").text
    # The navigation lists every section.
    nav = browser.find_element("css selector", "nav.md-nav--primary").get_attribute(
        "textContent"
    )
    for section in (
        "Installation",
        "Concepts",
        "Tutorials",
        "API reference",
        "Results",
    ):
        assert section in nav
    _screenshot(browser, tmp_path, "home.png")


def test_concepts_page_renders_math(browser, server):
    errors = _open(browser, server + "concepts/")
    assert errors == []
    assert _count(browser, ".katex") > 10
    assert _count(browser, ".katex-error") == 0


def test_api_page_renders(browser, server):
    errors = _open(browser, server + "api/optimizers/")
    assert errors == []
    headings = browser.execute_script(
        "return [...document.querySelectorAll('.doc-heading')].map(h => h.textContent)"
    )
    for name in ("AdaNSGDA", "AdaDir", "NSGDA", "Graft", "GraftedOptimizer"):
        assert any(name in h for h in headings), (name, headings)
    text = browser.find_element("tag name", "article").text
    assert "learning_rate" in text and "granularity" in text
    assert _count(browser, ".doc-signature, .doc-signature code, pre code") >= 1
    assert _count(browser, ".katex") >= 1  # the update rules in the docstrings


def test_tutorial_page_renders(browser, server, tmp_path):
    errors = _open(browser, server + "tutorials/02_dissecting_adam/")
    assert errors == []
    h1 = browser.execute_script(
        "return document.querySelector("
        "'article h1, .jp-RenderedMarkdown h1').textContent"
    )
    assert "Dissecting Adam" in h1
    assert _count(browser, ".jp-CodeCell, .jp-InputArea") >= 5
    # Figures are embedded in the page and actually decode.
    images = browser.execute_script(
        "return [...document.querySelectorAll('img')]"
        ".filter(i => i.src.startsWith('data:image/png'))"
        ".map(i => [i.complete, i.naturalWidth])"
    )
    assert len(images) >= 2, images
    assert all(done and width > 100 for done, width in images), images
    _screenshot(browser, tmp_path, "tutorial.png")


def _hooks(monkeypatch, report_dir):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "docs_hooks", os.path.join(ROOT, "docs", "hooks.py")
    )
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    monkeypatch.setattr(hooks, "REPORT_DIR", str(report_dir))
    monkeypatch.setattr(hooks, "REPORT", str(report_dir / "report.md"))
    return hooks


def test_results_page_takes_in_the_reproduction_report(monkeypatch, tmp_path):
    report = tmp_path / "reproduce_default"
    hooks = _hooks(monkeypatch, report)
    page = "# Results\n\n<!-- reproduce-report -->\n\n<!-- optimizer-benchmark -->\n"
    assert "Reproduction report pending" in hooks.on_page_markdown(
        page, None, None, None
    )
    (report / "plots").mkdir(parents=True)
    (report / "plots" / "pace.png").write_bytes(b"\x89PNG")
    (report / "report.md").write_text(
        "# Report\n\n## Claim 1\n\n![pace](plots/pace.png)\n[code](../../x.py)\n"
    )
    text = hooks.on_page_markdown(page, None, None, None)
    assert "### Report" in text and "#### Claim 1" in text
    assert "![pace](results/reproduce_default/plots/pace.png)" in text
    assert "[code]" not in text and "code" in text
    # Placeholders for the measured benchmark tables stay for the lead engineer.
    assert "<!-- optimizer-benchmark -->" in text
    assert hooks._report_assets() == ["plots/pace.png"]


def test_missing_modules_become_a_note(monkeypatch, tmp_path):
    hooks = _hooks(monkeypatch, tmp_path)
    page = "::: keras_graft.optimizers.AdaNSGDA\n\n::: keras_graft.not_a_module\n"
    text = hooks.on_page_markdown(page, None, None, None)
    assert "::: keras_graft.optimizers.AdaNSGDA" in text
    assert "`keras_graft.not_a_module` is not available yet" in text


def test_results_page_renders(browser, server):
    errors = _open(browser, server + "results/")
    assert errors == []
    text = browser.find_element("tag name", "article").text
    assert "Optimizer step benchmark" in text and "GAN step benchmark" in text
    images = browser.execute_script(
        "return [...document.querySelectorAll('article img')]"
        ".map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
    )
    report = os.path.join(
        ROOT, "benchmarks", "results", "reproduce_default", "report.md"
    )
    if os.path.exists(report):  # the report's plots are published and decode
        assert images, "the reproduction report shows no plot"
    assert all(done and width > 0 for _, done, width in images), images
