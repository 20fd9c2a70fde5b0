r"""The website as readers meet it: built once, served on localhost, read by headless Chromium.

Every page of the book (the API pages of the "Library reference" included, whose signatures
count as code, not prose) is loaded in a real browser (Debian's ``chromium`` driven through
``chromium-driver`` by selenium) with every host other than 127.0.0.1 unreachable, as if read
offline. On each page: no JavaScript error in the console, every formula typeset by the MathJax
copy served with the site (no raw ``$$`` or ``\(`` left), every image loaded, every animation
player complete and working, every internal link resolving; on each notebook page the Colab
button opens that very notebook of the repository; the search page finds the chapters.
Screenshots of a few pages are written to ``artifacts/screenshots/``.

The browser is installed with apt when it is missing and the tests run as root (as in CI);
elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from coursekit.course.authoring import repository_url
from coursekit.course.cli import jupyter_book_executable

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
APT_PACKAGES = ("chromium", "chromium-driver")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--hide-scrollbars",
    # Read the site as if offline: only the local server can be reached.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
ANIMATION_BUTTONS = {
    "Decrease speed",
    "First frame",
    "Previous frame",
    "Play backwards",
    "Pause",
    "Play",
    "Next frame",
    "Last frame",
    "Increase speed",
}
# Raw TeX that MathJax should have replaced: display/inline delimiters and macros in prose.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$|\\(?:begin|end)\{|\\[A-Za-z]{2,}\b")


# ---------------------------------------------------------------------------- pages (from _toc.yml)


def _toc_files() -> list[str]:
    """Every file of _toc.yml (root, chapters, sections), without suffix, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return files


TOC_FILES = _toc_files()
NOTEBOOK_FILES = [f for f in TOC_FILES if (ROOT / f"{f}.ipynb").exists()]
# Sphinx adds the general index, the search page and, once the API pages document modules, the
# Python module index.
PAGES = [f"{f}.html" for f in TOC_FILES] + ["genindex.html", "search.html"]
if any(f.startswith("book/api/") for f in TOC_FILES):
    PAGES.append("py-modindex.html")


def _colab_url(notebook: str) -> str:
    """The Colab URL that must open ``notebook`` (e.g. ``book/01_sde_basics``) from the repository."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = config.get("repository", {})
    slug = urllib.parse.urlparse(repository_url(ROOT)).path.strip("/")
    path = "/".join(p for p in (repository.get("path_to_book", "").strip("/"), f"{notebook}.ipynb") if p)
    return f"https://colab.research.google.com/github/{slug}/blob/{repository.get('branch', 'main')}/{path}"


# ---------------------------------------------------------------------------- site, server, browser


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The website, built once per session with warnings as errors (as `coursekit book --strict`)."""
    if jupyter_book_executable() is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    out = tmp_path_factory.mktemp("website")
    command = [
        sys.executable,
        "-m",
        "coursekit.course.cli",
        "--root",
        str(ROOT),
        "book",
        "--strict",
        "--output",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the signature of the base class
        pass


@pytest.fixture(scope="session")
def server(site) -> str:
    """The base URL of the site served on 127.0.0.1 (an ephemeral port)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _ensure_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver, installed with apt (quietly, time-bounded) if missing."""

    def found() -> tuple[str | None, str | None]:
        return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")

    browser, driver = found()
    if browser and driver:
        return browser, driver
    missing = " and ".join(name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path)
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"the browser tests need {missing}, and cannot install them here (not root, or no apt-get): "
            f"run `apt-get install {' '.join(APT_PACKAGES)}` (Debian) and run the tests again"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (
        (["apt-get", "update", "-qq"], 300),
        (["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES], 600),
    )
    for command, timeout in steps:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            pytest.skip(f"`{' '.join(command)}` took more than {timeout} s; the browser tests need {missing}")
        if result.returncode != 0:
            pytest.skip(f"`{' '.join(command)}` failed, the browser tests need {missing}:\n{result.stderr[-1500:]}")
    browser, driver = found()
    if not (browser and driver):
        pytest.skip(f"apt-get installed {' '.join(APT_PACKAGES)} but {missing} is still not on PATH")
    return browser, driver


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by selenium, reading the console at the level of errors."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is missing: pip install -e '.[test]' (it is in the test extra)"
    )
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = _ensure_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in CHROMIUM_ARGS:
        options.add_argument(argument)
    profile = tempfile.mkdtemp(prefix="coursekit-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver, log_output=subprocess.DEVNULL), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------------------- one visit per page

_WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
const start = Date.now();
function settled() {
  const images = Array.from(document.images).every(i => i.complete);
  const mathjax = !document.querySelector('script[src*="mathjax"]') ||
    (window.MathJax && MathJax.version && MathJax.startup && MathJax.startup.promise);
  return images && mathjax;
}
(function poll() {
  if (settled()) {
    const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
    Promise.resolve(typeset).then(() => done('ok'), e => done('MathJax failed: ' + e));
  } else if (Date.now() - start > 25000) {
    done('timeout: images or MathJax never finished');
  } else {
    setTimeout(poll, 50);
  }
})();
"""

_INSPECT_PAGE = """
const report = {};
const prose = document.body.cloneNode(true);
prose.querySelectorAll('pre, code, script, style, noscript, textarea, mjx-container, .highlight, dt.sig')
  .forEach(e => e.remove());
report.text = prose.textContent;
report.icon_declared = !!document.querySelector('link[rel~="icon"]');
report.math = document.querySelectorAll('.math').length;
report.untypeset = Array.from(document.querySelectorAll('.math'))
  .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.trim().slice(0, 80));
report.math_errors = Array.from(document.querySelectorAll('mjx-merror'))
  .map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 80));
report.images = document.images.length;
report.broken_images = Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
  .map(i => (i.getAttribute('src') || i.id || i.alt || '?').slice(0, 120));
report.colab = Array.from(document.querySelectorAll('a[href*="colab.research.google.com"]'))
  .map(a => a.getAttribute('href'));
report.links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
  .filter(h => h.startsWith(location.origin));
report.animations = Array.from(document.querySelectorAll('div.animation')).map(div => {
  const a = {};
  const img = div.querySelector('img[id^="_anim_img"]');
  const slider = div.querySelector('input.anim-slider[type="range"]');
  const buttons = Array.from(div.querySelectorAll('.anim-buttons button'));
  a.id = img ? img.id.slice('_anim_img'.length) : null;
  a.frame_loaded = !!img && img.complete && img.naturalWidth > 0;
  a.player = !!a.id && typeof window['anim' + a.id] === 'object';
  a.frames = slider ? parseInt(slider.max) + 1 : 0;
  a.buttons = buttons.map(b => b.title);
  // Font Awesome draws each icon as an <svg> (or an <i> with a glyph): it must take up room.
  a.icons_drawn = buttons.every(b => {
    const icon = b.querySelector('svg, i');
    return !!icon && icon.getBoundingClientRect().width > 0 && b.offsetWidth > 0;
  });
  a.modes = Array.from(div.querySelectorAll('.anim-state input[type="radio"]')).map(r => r.value);
  if (a.player && slider) {
    const first = img.src;
    div.querySelector('button[title="Last frame"]').click();
    a.last_frame_shown = parseInt(slider.value) === a.frames - 1 && img.src !== first;
    div.querySelector('button[title="First frame"]').click();
    a.first_frame_shown = parseInt(slider.value) === 0 && img.src === first;
  }
  return a;
});
return report;
"""


@pytest.fixture(scope="session")
def visit(browser, server):
    """``visit(page)`` loads a page once per session and returns what the browser found on it."""
    cache: dict[str, dict] = {}

    def load(page: str) -> dict:
        if page not in cache:
            browser.get_log("browser")  # forget what earlier pages logged
            browser.get(server + page)
            status = browser.execute_async_script(_WAIT_FOR_PAGE)
            report = browser.execute_script(_INSPECT_PAGE)
            report["status"] = status
            errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
            if not report["icon_declared"]:  # the browser's own probe for an icon the site does not have
                errors = [m for m in errors if not re.search(r"/favicon\.ico\b", m)]
            report["console"] = errors
            cache[page] = report
        return cache[page]

    return load


def test_every_built_page_is_visited(site):
    built = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    built = {p for p in built if not p.startswith(("_static/", "_sources/", "_images/"))}
    built.discard("index.html")  # the redirect to the root page
    assert built == set(PAGES), f"pages built but not in _toc.yml: {built - set(PAGES)}; missing: {set(PAGES) - built}"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_javascript_errors(visit, page):
    report = visit(page)
    assert report["status"] in ("ok",), report["status"]
    assert report["console"] == [], "errors in the browser console:\n" + "\n".join(report["console"])


def _has_formulas(source: Path) -> bool:
    """Whether a page's source has $...$ math outside code (a shell's $PWD is not a formula)."""
    text = source.read_text()
    if source.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # fenced code
    text = re.sub(r"`[^`]*`", "", text)  # inline code
    return re.search(r"\$[^$\s][^$]*\$", text) is not None


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset_and_no_raw_tex_is_left(visit, page):
    report = visit(page)
    sources = [(ROOT / page).with_suffix(suffix) for suffix in (".ipynb", ".md")]
    source = next((path for path in sources if path.exists()), None)
    if source is not None and _has_formulas(source):
        assert report["math"] > 0, f"{source.name} has formulas, the page shows none"
    assert report["untypeset"] == [], f"formulas MathJax did not typeset: {report['untypeset'][:5]}"
    assert report["math_errors"] == [], f"MathJax errors: {report['math_errors'][:5]}"
    raw = sorted({m.group(0) for m in RAW_TEX.finditer(report["text"])})
    assert raw == [], f"raw TeX in the visible text: {raw[:10]}"


@pytest.mark.parametrize("page", PAGES)
def test_every_image_is_loaded(visit, page):
    report = visit(page)
    assert report["broken_images"] == [], f"images not loaded (naturalWidth 0): {report['broken_images']}"


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(visit, site, server, page):
    broken = []
    for link in sorted(set(visit(page)["links"])):
        url = urllib.parse.urlparse(link)
        target = site / urllib.parse.unquote(url.path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(link)
        elif url.fragment and target.suffix == ".html":
            fragment = re.escape(urllib.parse.unquote(url.fragment))
            if not re.search(rf'\b(?:id|name)="{fragment}"', target.read_text(errors="replace")):
                broken.append(link)
    assert broken == [], f"links from {page} that resolve to nothing: {broken}"


@pytest.mark.parametrize("page", [f"{f}.html" for f in NOTEBOOK_FILES])
def test_animations_have_working_controls(visit, page):
    for animation in visit(page)["animations"]:
        assert animation["player"], f"the player of animation {animation['id']} was not created"
        assert animation["frame_loaded"], f"animation {animation['id']} shows no frame"
        assert animation["frames"] > 1
        assert set(animation["buttons"]) == ANIMATION_BUTTONS, animation["buttons"]
        assert animation["icons_drawn"], f"animation {animation['id']}: button icons are not drawn"
        assert animation["modes"] == ["once", "loop", "reflect"]
        assert animation["last_frame_shown"] and animation["first_frame_shown"], animation


def test_chapters_with_animations_show_them(visit):
    """The chapters whose notebook makes an animation show its player on the page."""
    for notebook in NOTEBOOK_FILES:
        made = (ROOT / f"{notebook}.ipynb").read_text().count("animation.to_html(")
        shown = len(visit(f"{notebook}.html")["animations"])
        assert shown >= made, f"{notebook}: {made} animations in the notebook, {shown} players on the page"


@pytest.mark.parametrize("notebook", NOTEBOOK_FILES)
def test_colab_button_opens_this_notebook(visit, notebook):
    assert visit(f"{notebook}.html")["colab"] == [_colab_url(notebook)]


_WAIT_FOR_SEARCH = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  const summary = document.querySelector('#search-results .search-summary');
  if (summary && /found|match/i.test(summary.textContent) && !/Preparing|Searching/i.test(summary.textContent)) {
    done({summary: summary.textContent.trim(), hits: Array.from(
      document.querySelectorAll('#search-results ul.search li a')).map(a => a.getAttribute('href'))});
  } else if (Date.now() - start > 20000) {
    done({summary: summary ? summary.textContent : 'no search summary', hits: []});
  } else {
    setTimeout(poll, 50);
  }
})();
"""


@pytest.mark.parametrize(
    "term, chapter",
    [("Maruyama", "01_"), ("Langevin", "01_"), ("Fokker", "02_")],
    ids=["Maruyama", "Langevin", "Fokker"],
)
def test_search_finds_the_chapter(browser, server, term, chapter):
    pages = [f"{f}.html" for f in NOTEBOOK_FILES if f.startswith("book/") and Path(f).name.startswith(chapter)]
    if not pages:
        pytest.skip(f"no chapter {chapter}* is in the book yet (the search for {term!r} should find it)")
    browser.get(server + "search.html?" + urllib.parse.urlencode({"q": term}))
    result = browser.execute_async_script(_WAIT_FOR_SEARCH)
    hits = [urllib.parse.urlparse(h).path.lstrip("/") for h in result["hits"]]
    assert set(pages) & set(hits), f"searching {term!r}: {result['summary']}; hits {hits}, expected {pages}"


def _shot(browser, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path


def test_screenshots_of_a_few_pages(browser, server):
    """Screenshots for people to look at: the intro, a chapter's math and animation, a search."""
    taken = []
    browser.get(server + TOC_FILES[0] + ".html")
    browser.execute_async_script(_WAIT_FOR_PAGE)
    taken.append(_shot(browser, "intro"))
    if NOTEBOOK_FILES:
        chapter = NOTEBOOK_FILES[0]
        browser.get(server + chapter + ".html")
        browser.execute_async_script(_WAIT_FOR_PAGE)
        name = Path(chapter).name
        taken.append(_shot(browser, f"{name}_top"))
        for selector, what in (("div.math", "math"), ("div.animation", "animation")):
            if browser.execute_script(
                f"const e = document.querySelector('{selector}');"
                "if (e) { e.scrollIntoView({block: 'center'}); } return !!e;"
            ):
                time.sleep(0.2)
                taken.append(_shot(browser, f"{name}_{what}"))
    browser.get(server + "search.html?q=Maruyama")
    browser.execute_async_script(_WAIT_FOR_SEARCH)
    taken.append(_shot(browser, "search_maruyama"))
    for path in taken:
        assert path.stat().st_size > 10_000, f"{path} looks empty"
