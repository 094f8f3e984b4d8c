"""The generated dashboard (mdm stats dashboard -o) in headless Chromium.

Checks: no console errors, the datasets table (rows per dataset, sorting, filtering),
one dataset's columns with the top-value bars (city: paris 100), the history table
with the failed registration, data shown as text (never as HTML). Screenshots go to
ARTIFACT_DIR/dashboard-*.png.
"""
import shutil
import sys
import tempfile

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
finally:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)

print(f"dashboard: {'FAILED ' + ', '.join(failures) if failures else 'all checks passed'}")
sys.exit(1 if failures else 0)
