"""Open report.html in headless Chromium as a reader would, and take screenshots.

    python tools/check_report.py results/report.html --out results/report_check

Checks, in the rendered page (not in the HTML text): every figure decodes, the
first study number of the harmonised table opens on a click and shows its
quote and page, and nothing is fetched from the network (no http(s) source).
Writes report_top.png (the top of the page) and report_quote.png (the opened
quote) to --out. Exit status 0 when every check passes, 1 when one fails, 2
when no Chromium is installed (Debian: apt-get install chromium).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Runs after load in a copy of the report: clicks the first value of the
# harmonised table that comes from a page (curated values may have none) and
# leaves what it found in an attribute of <body>.
PROBE = """<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  const first = document.querySelector('details.src[data-page]') || document.querySelector('details.src');
  let quote = '';
  if (first) {
    first.querySelector('summary').click();
    quote = first.open ? first.querySelector('blockquote').innerText : '';
    if (location.hash === '#quote-view') {
      // the harmonised table alone, the opened value near the top of the screenshot
      const table = first.closest('table');
      const rows = [...table.rows];
      rows.slice(1).forEach(r => { if (!r.contains(first)) { r.remove(); } });
      document.body.replaceChildren(document.getElementById('harmonised'), table);
    }
  }
  document.body.setAttribute('data-check', JSON.stringify({
    images: images.length, broken: broken, values: document.querySelectorAll('details.src').length,
    opened: !!(first && first.open), quote: quote, paged: !!(first && first.dataset.page)}));
});
</script>"""
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*['"]?(?:https?:)?//""", re.IGNORECASE)


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def _run(browser: str, *args: str) -> str:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               # offline: any host name resolves nowhere
               "--host-resolver-rules=MAP * ~NOTFOUND", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(browser).name} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def check(report: Path, out: Path, width: int = 1280, height: int = 1600) -> list[str]:
    """Problems found in the rendered report (empty when all is well); screenshots land in `out`."""
    browser = find_browser()
    if browser is None:
        raise FileNotFoundError("no Chromium found (tried " + ", ".join(BROWSERS) + "); on Debian: apt-get install chromium")
    html = report.read_text(encoding="utf-8")
    problems = [f"external reference: {m.group(0)}" for m in EXTERNAL.finditer(html)]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        probed = Path(tmp) / "report.html"
        probed.write_text(html.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
        url = probed.resolve().as_uri()
        dom = _run(browser, "--virtual-time-budget=10000", "--dump-dom", url)
        found = re.search(r"data-check=\"([^\"]*)\"", dom)
        if found is None:
            return [*problems, "the page did not finish loading (no probe result)"]
        result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
        if result["images"] == 0:
            problems.append("no figure in the report")
        if result["broken"]:
            problems.append(f"{result['broken']} of {result['images']} figures do not decode")
        if result["values"] == 0:
            problems.append("no clickable value in the harmonised table")
        elif not result["opened"] or not result["quote"].strip():
            problems.append("a click on the first value shows no quote")
        elif not result["paged"] or "page" not in result["quote"]:
            problems.append(f"the first quote names no page: {result['quote'][:80]!r}")
        for name, fragment in (("report_top.png", ""), ("report_quote.png", "#quote-view")):
            _run(browser, f"--window-size={width},{height}", "--virtual-time-budget=10000",
                 f"--screenshot={out / name}", url + fragment)
            if not (out / name).exists() or (out / name).stat().st_size == 0:
                problems.append(f"no screenshot {name}")
    print(json.dumps({"report": str(report), **result, "screenshots": str(out)}, ensure_ascii=False))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="folder for the screenshots (default: beside the report)")
    args = parser.parse_args(argv)
    try:
        problems = check(args.report, args.out or args.report.parent / "report_check")
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
