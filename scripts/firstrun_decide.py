"""A person with three documents, on a first start, in a real browser: how long until Decide's report?

    python scripts/firstrun_decide.py [--docs DIR] [--names a.md,b.md,c.md] [--timeout-min 25]

Starts `app.py` on the embedded model with an empty data directory (the first start: the shipped corpora are
indexed while the page is open), then drives Debian's Chromium (Playwright) as a person would: upload three
documents of a held-out corpus (one .md, one .docx, one .pdf) in the Corpora tab, choose the new corpus in the
Decide tab, keep the budget the slider offers (its minimum for that corpus) and press Decide. It prints the seconds
of each step and the report's verdict as one JSON line; screenshots go to tests/artifacts/firstrun-*.png.
The goal (issue #23): the report within 10 minutes on 2 cores, with no reload.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"

from mixed_format_corpus import to_docx, to_pdf  # noqa: E402 (scripts/ is on the path above)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_page(url: str, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the app did not answer at {url} within {timeout_s:.0f} s")


def three_documents(folder: Path, names: list[str], out: Path) -> list[Path]:
    """The chosen chapters as .md, .docx and .pdf (in that order), as a person's own files would come."""
    formats = [(".md", lambda text, target: target.write_text(text)), (".docx", to_docx), (".pdf", to_pdf)]
    files = []
    for name, (suffix, write) in zip(names, formats):
        target = out / (Path(name).stem + suffix)
        write((folder / name).read_text(), target)
        files.append(target)
    return files


def drive(url: str, files: list[Path], corpus: str, timeout_s: float) -> dict:
    from playwright.sync_api import expect, sync_playwright

    figures = {}
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        started = time.perf_counter()
        page.get_by_role("tab", name="Corpora").click()
        page.locator("#upload-files input[type=file]").set_input_files([str(f) for f in files])
        page.locator("#upload-corpus input, #upload-corpus textarea").first.fill(corpus)
        page.locator("#ingest").click()
        expect(page.locator("#ingest-summary")).to_contain_text("ingested", timeout=300_000)
        figures["ingest_s"] = round(time.perf_counter() - started, 1)
        figures["ingest_summary"] = page.locator("#ingest-summary").inner_text()[:200]

        page.get_by_role("tab", name="Decide").click()
        t = time.perf_counter()
        box = page.locator("#decide-corpus input")
        box.fill(corpus)
        page.locator('[data-testid="dropdown-option"]', has_text=corpus).first.click(timeout=120_000)
        plan = page.locator("#decide-estimate")
        expect(plan).to_contain_text(re.compile("Plan for|cannot run|Not enough time"), timeout=300_000)
        figures["plan_s"] = round(time.perf_counter() - t, 1)
        figures["plan"] = plan.inner_text()[:600]
        figures["budget_min"] = page.locator("#decide-budget input[type=number]").first.input_value()
        page.screenshot(path=str(ARTIFACTS / "firstrun-plan.png"), full_page=True)

        t = time.perf_counter()
        page.locator("#decide-run").click()
        status = page.locator("#decide-status")
        expect(status).to_contain_text(re.compile(r"Run \S+ finished\.|Decide stopped|Decide failed"),
                                       timeout=timeout_s * 1000)
        figures["decide_s"] = round(time.perf_counter() - t, 1)
        figures["from_first_click_s"] = round(time.perf_counter() - started, 1)
        figures["status"] = status.inner_text()[:300]
        figures["verdict"] = page.locator("#decide-verdict").inner_text()[:400]
        figures["run_enabled_after"] = page.locator("#decide-run").is_enabled()
        page.screenshot(path=str(ARTIFACTS / "firstrun-report.png"), full_page=True)
        browser.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", default=str(ROOT / "benchmarks/heldout/tidewater-ferries/docs"))
    parser.add_argument("--names", default="fleet-and-crewing.md,timetable-and-fares.md,safety-and-security.md")
    parser.add_argument("--timeout-min", type=float, default=25)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="firstrun-"))
    (work / "docs").mkdir()
    files = three_documents(Path(args.docs), args.names.split(","), work / "docs")
    port = free_port()
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(work / "data"), "WORKBENCH_SERVER_PORT": str(port),
           "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                           stdout=open(work / "app.log", "w"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_page(url, 600)
        figures = {"page_s": round(time.perf_counter() - started, 1), "words": sum(
            len((Path(args.docs) / n).read_text().split()) for n in args.names.split(","))}
        figures.update(drive(url, files, "my-three", args.timeout_min * 60))
    finally:
        app.terminate()
        app.wait(30)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
