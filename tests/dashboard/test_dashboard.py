"""The generated dashboard (mdm stats dashboard -o) in headless Chromium.

Checks: no console errors, the datasets table (rows per dataset, sorting, filtering),
one dataset's columns with the top-value bars (city: paris 100), the history table
with the failed registration, data shown as text (never as HTML). Then the same page
without its snapshot, served over HTTP by a stand-in for `mdm serve` answering the
SERVE_CONTRACT routes from the snapshot's data: it fetches them and plots the metrics
it polls. Screenshots go to ARTIFACT_DIR/dashboard-*.png.
"""
import json
import re
import shutil
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

page, artifacts = sys.argv[1], sys.argv[2]
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print(f"FAIL: {name} {detail}", file=sys.stderr)


profile = tempfile.mkdtemp(prefix="mdm-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = shutil.which("chromium")
for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,900"]:
    opts.add_argument(flag)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
try:
    driver.get("file://" + page)
    wait = WebDriverWait(driver, 20)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, 'tr[data-dataset="shop"]')))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#column-plots")))
    first = driver.find_element(By.CSS_SELECTOR, "#datasets tbody tr").get_attribute("data-dataset")
    check("first dataset (by name) selected", first == "other" and
          "other" in driver.find_element(By.ID, "detail-title").text, first)
    driver.find_element(By.CSS_SELECTOR, 'tr[data-dataset="shop"]').click()
    wait.until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, '#column-plots [data-column="city"] g.bar-row')))

    def rows_cell(name):
        return driver.find_element(By.CSS_SELECTOR, f'tr[data-dataset="{name}"] td[data-key="rows"]').text

    check("shop has 200 rows", rows_cell("shop") == "200", rows_cell("shop"))
    check("other has 50 rows", rows_cell("other") == "50", rows_cell("other"))
    cards = {c.get_attribute("data-card"): c.find_element(By.CSS_SELECTOR, ".value").text
             for c in driver.find_elements(By.CSS_SELECTOR, ".card")}
    check("card: 2 datasets", cards.get("datasets") == "2", str(cards))
    check("card: 250 rows", cards.get("rows") == "250", str(cards))
    check("card: 1 error", cards.get("errors") == "1", str(cards))

    # shop's columns and the city bars.
    names = [r.get_attribute("data-column") for r in driver.find_elements(By.CSS_SELECTOR, "#columns tbody tr")]
    check("shop's columns listed", names == ["id", "city", "age", "price", "sold"], str(names))
    bars = driver.find_elements(By.CSS_SELECTOR, '#column-plots [data-column="city"] g.bar-row')
    got = [(b.get_attribute("data-value"), b.get_attribute("data-count")) for b in bars]
    check("city top values", got == [("paris", "100"), ("lyon", "60"), ("nice", "40")], str(got))
    paris = driver.find_element(By.CSS_SELECTOR, '#column-plots [data-column="city"] g.bar-row[data-value="paris"]')
    check("paris bar labelled 100", paris.find_element(By.CSS_SELECTOR, "text.count").text == "100")
    widths = [float(b.find_element(By.CSS_SELECTOR, "rect").get_attribute("width")) for b in bars]
    check("bars scale with counts", widths[0] > widths[1] > widths[2] > 0, str(widths))
    check("numeric column has a range plot",
          len(driver.find_elements(By.CSS_SELECTOR, '#column-plots [data-column="price"] svg.range')) == 1)
    driver.save_screenshot(f"{artifacts}/dashboard-top.png")

    # Data is text, never markup.
    tags = [t.text for t in driver.find_elements(By.CSS_SELECTOR, 'tr[data-dataset="shop"] .tag')]
    check("tag shown as text", "<b>bold</b>" in tags, str(tags))
    check("no element injected", len(driver.find_elements(By.CSS_SELECTOR, "#datasets b, #datasets script")) == 0)

    # Sorting and filtering.
    header = driver.find_element(By.CSS_SELECTOR, '#datasets th[data-key="rows"]')
    header.click()
    order = [r.get_attribute("data-dataset") for r in driver.find_elements(By.CSS_SELECTOR, "#datasets tbody tr")]
    check("sorted by rows ascending", order == ["other", "shop"], str(order))
    driver.find_element(By.CSS_SELECTOR, '#datasets th[data-key="rows"]').click()
    order = [r.get_attribute("data-dataset") for r in driver.find_elements(By.CSS_SELECTOR, "#datasets tbody tr")]
    check("sorted by rows descending", order == ["shop", "other"], str(order))
    driver.find_element(By.ID, "dataset-filter").send_keys("oth")
    order = [r.get_attribute("data-dataset") for r in driver.find_elements(By.CSS_SELECTOR, "#datasets tbody tr")]
    check("filter keeps other", order == ["other"], str(order))
    driver.find_element(By.CSS_SELECTOR, 'tr[data-dataset="other"]').click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#column-plots [data-column="label"]')))
    labels = {b.get_attribute("data-value"): b.get_attribute("data-count") for b in
              driver.find_elements(By.CSS_SELECTOR, '#column-plots [data-column="label"] g.bar-row')}
    check("other's label counts", labels == {"a": "34", "b": "16"}, str(labels))

    # History: every operation, newest first, the failed registration with its message.
    ops = driver.find_elements(By.CSS_SELECTOR, "#history tbody tr[data-op]")
    types = [o.get_attribute("data-type") for o in ops]
    check("history rows", types == ["dataset_register", "dataset_stats", "dataset_export",
                                    "dataset_register", "dataset_register"], str(types))
    err = driver.find_elements(By.CSS_SELECTOR, "#history tr.error-row")
    check("failed registration shown", len(err) == 1 and "does not exist" in err[0].text,
          err[0].text if err else "none")
    driver.execute_script("document.getElementById('history-section').scrollIntoView()")
    driver.save_screenshot(f"{artifacts}/dashboard-history.png")

    # Whole page, wide and narrow.
    driver.find_element(By.ID, "dataset-filter").clear()
    driver.execute_script("document.getElementById('dataset-filter').dispatchEvent(new Event('input'))")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, height + 120)
    driver.save_screenshot(f"{artifacts}/dashboard-full.png")
    driver.set_window_size(420, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(420, height + 120)
    driver.save_screenshot(f"{artifacts}/dashboard-narrow.png")
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")
    check("narrow page does not scroll sideways", not overflow)

    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    check("no console errors", not severe, str(severe))

    # Live: the page without a snapshot, fetching the routes relative to itself.
    html = open(page, encoding="utf-8").read()
    m = re.search(r"<script>window\.MDM_SNAPSHOT=(.*?);</script>", html, re.S)
    snap = json.loads(m.group(1))
    bare = (html[:m.start()] + html[m.end():]).encode()
    polls = []

    class Serve(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, code, body, ctype="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            path = urlparse(self.path).path
            if path == "/":
                return self.answer(200, bare, "text/html; charset=utf-8")
            if path == "/api/datasets":
                return self.answer(200, {"datasets": snap["datasets"]})
            st = re.fullmatch(r"/api/datasets/([^/]+)/stats", path)
            if st and snap["stats"].get(unquote(st.group(1))):
                return self.answer(200, snap["stats"][unquote(st.group(1))])
            if path == "/api/history":
                return self.answer(200, snap["history"])
            if path == "/api/history/summary":
                return self.answer(200, snap["summary"])
            if path == "/api/metrics.json":
                polls.append(1)
                n = len(polls)
                return self.answer(200, {
                    "time": "2026-01-01T00:00:%02dZ" % n,
                    "pools": [{"name": "sqlite:/x/shop.sqlite", "backend": "sqlite", "size": 3, "idle": 2,
                               "in_use": n % 3, "waiting": 0, "max_size": 5, "checkouts": 10 * n,
                               "timeouts": 0, "wait_p50_ms": 0.1, "wait_p99_ms": 1.5, "breaker": "closed"}],
                    "requests": {"total": 7 * n, "by_status": {"200": 7 * n}, "p50_ms": 2.0 + n, "p99_ms": 9.5 + n},
                    "cache": {"hits": 0, "misses": 0, "bytes": 0, "entries": 0}})
            return self.answer(404, {"error": "not found", "code": "ENOTFOUND"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        driver.set_window_size(1280, 900)
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/")
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, 'tr[data-dataset="shop"]')))
        check("live: shop rows", rows_cell("shop") == "200", rows_cell("shop"))
        check("live: source says live", "Live" in driver.find_element(By.ID, "source").text)
        driver.find_element(By.CSS_SELECTOR, 'tr[data-dataset="shop"]').click()
        wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, '#column-plots [data-column="city"] g.bar-row[data-value="paris"][data-count="100"]')))
        WebDriverWait(driver, 20).until(lambda d: len(polls) >= 2)  # polled every 5 s
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#pools tbody tr")))
        lines = driver.find_elements(By.CSS_SELECTOR, "#metrics polyline")
        check("live: metrics plotted", len(lines) == 6, str(len(lines)))
        pool = driver.find_element(By.CSS_SELECTOR, "#pools tbody tr").text
        check("live: pool row", "sqlite:/x/shop.sqlite" in pool and "closed" in pool, pool)
        driver.execute_script("document.getElementById('metrics-section').scrollIntoView()")
        driver.save_screenshot(f"{artifacts}/dashboard-live.png")
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        check("live: no console errors", not severe, str(severe))
    finally:
        server.shutdown()
finally:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)

print(f"dashboard: {'FAILED ' + ', '.join(failures) if failures else 'all checks passed'}")
sys.exit(1 if failures else 0)
