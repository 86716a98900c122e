"""The real app in a real browser: Debian's Chromium driven by Playwright, at desktop and phone width.

What a person checks: an example question gets four answers, the retrieved passages show their score, source and
text on screen, an input error appears once beside its input and nowhere else, and an uploaded file can be asked
about. Screenshots go to tests/artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import save_random_adapter

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 60_000

pytestmark = [pytest.mark.ui, pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("chromium") is None,
                                 reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)")]


@pytest.fixture()
def app_url(workbench):
    """The real app (build_app) on the tiny workbench, with adapters in both fine-tuned columns."""
    from workbench.ui import CSS, build_app

    adapters = workbench.settings.data_path / "adapters"
    save_random_adapter(workbench.model, adapters / "tiny-lora", seed=1)
    save_random_adapter(workbench.model, adapters / "tiny-raft", seed=2)
    workbench.settings.lora_adapter, workbench.settings.raft_adapter = "tiny-lora", "tiny-raft"
    demo = build_app(workbench.settings, workbench).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=CSS)
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def error_badges(page) -> int:
    """Components showing Gradio's red error state (the status tracker's 'Error')."""
    return page.locator(".wrap .error:visible, .error-badge:visible").count()


def ask_and_wait(page, expect) -> None:
    page.locator("#ask").click()
    for arm in ("base", "rag", "lora", "raft"):  # every column answered, with its metrics
        expect(page.locator(f"#metrics-{arm}")).to_contain_text("time to first token", timeout=TIMEOUT_MS)
    expect(page.locator("#ask")).to_be_enabled(timeout=TIMEOUT_MS)  # the run is over


def check_passages_readable(page, expect, arm: str = "rag") -> None:
    passages = page.locator(f"#passages-{arm}")
    expect(passages).to_contain_text("score", timeout=TIMEOUT_MS)
    first_score = passages.get_by_text("score").first
    first_score.scroll_into_view_if_needed()
    expect(first_score).to_be_in_viewport()
    source = passages.locator("code").first  # the source file name
    expect(source).to_be_in_viewport()
    assert source.inner_text() in ("travel.md", "it.txt")
    box = passages.bounding_box()
    assert box and box["width"] >= 220, f"passages squeezed to {box}"
    text = passages.locator("blockquote").first  # the passage text itself, readable beside it
    expect(text).to_be_in_viewport()
    assert len(text.inner_text()) > 20


@pytest.mark.parametrize("width, height, name", [(1440, 900, "desktop"), (390, 844, "phone")])
def test_ask_an_example_and_read_the_answers(app_url, browser, width, height, name):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url)
    for tab in ("Compare", "Corpora", "Decide", "Evaluate", "Train"):  # every tab named, none behind a "⋯" menu
        expect(page.get_by_role("tab", name=tab)).to_be_visible()
    example = page.get_by_text("How long is the probation period", exact=False).first
    if not example.count():
        example = page.locator(".gallery-item, button.gallery-item, [data-testid='examples'] button").first
    example.click()
    expect(page.locator("#question textarea")).not_to_have_value("", timeout=TIMEOUT_MS)
    ask_and_wait(page, expect)
    if name == "phone":  # the passages start folded on a phone: a tap opens them
        expect(page.locator("#passages-rag")).to_be_hidden()
        column = page.locator(".arm-column", has=page.locator("#passages-rag"))
        column.get_by_role("button", name="Retrieved passages").click()
    check_passages_readable(page, expect)
    assert "**" not in page.locator("#answer-rag").inner_text()  # Markdown is rendered, not shown raw
    shot(page, f"compare-{name}")
    assert error_badges(page) == 0

    # an input error: shown once, under the question, and nothing else turns red
    page.locator("#question textarea").fill("   ")
    page.locator("#ask").click()
    message = page.get_by_text("the question is empty")
    expect(message).to_have_count(1, timeout=TIMEOUT_MS)
    expect(message).to_be_visible()
    assert error_badges(page) == 0
    expect(page.locator("#ask")).to_be_enabled()  # a refused question does not lock Ask
    expect(page.locator("#passages-rag")).to_contain_text("score")  # the previous answers stay as they were
    shot(page, f"input-error-{name}")
    page.close()


@pytest.mark.parametrize("width, height, name", [(1440, 900, "desktop"), (390, 844, "phone")])
def test_every_tab_fits_the_width_of_the_page(app_url, browser, width, height, name):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url)
    for tab in ("Compare", "Corpora", "Decide", "Evaluate", "Train"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        page.wait_for_timeout(300)  # the tab's layout settles
        shot(page, f"tab-{tab.lower()}-{name}")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (tab, overflow)  # no horizontal scrolling of the page
    page.close()


def test_a_long_question_scrolls_in_its_box_and_the_buttons_keep_their_size(app_url, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(app_url)
    page.locator("#question textarea").fill("How many days of leave do I get? " * 90)  # ~3,000 characters
    for button in ("#ask", "#stop"):
        box = page.locator(button).bounding_box()
        assert box and box["height"] < 80, (button, box)
    box = page.locator("#question textarea").bounding_box()
    assert box and box["height"] < 200, box
    shot(page, "long-question")
    page.close()


# Compare's page height at 390x844 once four answers are in: 2,434 px here, 4,884 px before the phone layout.
PHONE_COMPARE_MAX_PX = 2700


def test_compare_on_a_phone_is_compact_and_fits_the_width(app_url, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(app_url)
    page.locator("#question textarea").fill("What is the per diem for Lisbon?")
    ask_and_wait(page, expect)
    page.wait_for_timeout(300)  # the columns' layout settles
    shot(page, "compare-phone-compact")
    for arm in ("rag", "raft"):  # folded, one tap away
        expect(page.locator(f"#passages-{arm}")).to_be_hidden()
    expect(page.locator("#vote-tally")).to_be_hidden()
    for arm in ("base", "rag", "lora", "raft"):  # what a user needs stays in view: answer, figures, adapter
        for part in ("answer", "metrics", *(("adapter",) if arm in ("lora", "raft") else ())):
            expect(page.locator(f"#{part}-{arm}")).to_be_visible()
    height, width = page.evaluate("[document.documentElement.scrollHeight, document.documentElement.scrollWidth]")
    assert height < PHONE_COMPARE_MAX_PX, height
    assert width <= 390, width  # no horizontal scrolling
    for arm in ("base", "raft"):  # the figures wrap inside the column
        box = page.locator(f"#metrics-{arm}").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (arm, box)
    page.close()


def choose(page, elem_id: str, text: str, expect) -> None:
    """Pick a dropdown's option as a person does: type, then click the option showing `text`."""
    box = page.locator(f"#{elem_id} input")
    box.fill(text, timeout=TIMEOUT_MS)  # a loaded 2-core machine took over 30 s to show it once
    page.locator('[data-testid="dropdown-option"]', has_text=text).first.click(timeout=TIMEOUT_MS)
    expect(box).to_have_value(re.compile(re.escape(text)))


def test_compare_adapter_lines_and_examples_follow_the_corpus(workbench, docs, browser):
    from conftest import save_decide_run
    from playwright.sync_api import expect

    from workbench.retrieval.ingest import ingest
    from workbench.ui import CSS, build_app

    ingest(workbench.store, "harbor", [docs], workbench.settings.chunk_size, workbench.settings.chunk_overlap)
    save_decide_run(workbench.model, workbench.settings.data_path / "decide", "20260101-090000-harbor", "harbor",
                    methods=("raft",), questions=["When does the ferry leave?"])
    workbench.settings.lora_adapter, workbench.settings.raft_adapter = "handbook-lora", "auto"  # the shipped defaults
    demo = build_app(workbench.settings, workbench).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=CSS)
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        lora, raft = page.locator("#adapter-lora"), page.locator("#adapter-raft")
        expect(lora).to_have_text("Adapter handbook-lora, trained on handbook.", timeout=TIMEOUT_MS)
        expect(raft).to_have_text("Adapter handbook-raft (auto): handbook's own.")
        page.get_by_text("Settings", exact=True).first.click()
        choose(page, "corpus", "harbor", expect)
        expect(lora).to_have_text("⚠️ Adapter handbook-lora was trained on handbook, not on harbor (none is trained "
                                  "on harbor yet).", timeout=TIMEOUT_MS)  # said in the column, not only in Settings
        expect(raft).to_have_text("Adapter harbor-raft@20260101-090000 (auto): harbor's own.")
        expect(page.get_by_text("written by Decide for harbor")).to_be_visible()
        expect(page.get_by_text("When does the ferry leave?")).to_be_visible()
        choose(page, "lora-adapter", "auto", expect)
        expect(lora).to_contain_text("No lora adapter trained on harbor yet (auto)", timeout=TIMEOUT_MS)
        shot(page, "compare-adapters-follow-the-corpus")
        page.close()
    finally:
        demo.close()


def test_upload_a_file_into_a_new_corpus_and_ask_about_it(app_url, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(app_url)
    page.get_by_role("tab", name="Corpora").click()

    # an empty corpus name is refused beside the name box only
    page.locator("#upload-corpus textarea, #upload-corpus input").first.fill("")
    page.locator("#ingest").click()
    expect(page.get_by_text("choose some files")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(page.get_by_text("type a corpus name")).to_have_count(1)
    assert error_badges(page) == 0
    shot(page, "corpora-input-error")

    doc = tmp_path / "garden.md"
    doc.write_text("# Garden\nThe rooftop garden grows purple basil and is watered every Tuesday by the facilities team.\n")
    page.locator("#upload-files input[type=file]").set_input_files(str(doc))
    page.locator("#upload-corpus textarea, #upload-corpus input").first.fill("garden-docs")
    page.locator("#ingest").click()
    expect(page.locator("#ingest-summary")).to_contain_text("1 file ingested", timeout=TIMEOUT_MS)
    shot(page, "corpora-uploaded")

    page.get_by_role("tab", name="Compare").click()
    page.get_by_text("Settings", exact=True).first.click()  # the corpus picker is in the Settings accordion
    expect(page.locator("#corpus input")).to_have_value("garden-docs (this session)", timeout=TIMEOUT_MS)
    expect(page.get_by_text("handbook test split")).to_be_hidden()  # no examples about another corpus
    page.locator("#question textarea").fill("When is the rooftop garden watered?")
    ask_and_wait(page, expect)
    passages = page.locator("#passages-rag")
    expect(passages).to_contain_text("garden.md")
    expect(passages).to_contain_text("watered every Tuesday")
    shot(page, "compare-uploaded-corpus")
    assert error_badges(page) == 0
    page.close()


def test_evaluate_and_train_tabs_fit_the_page(app_url, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(app_url)
    page.get_by_role("tab", name="Evaluate").click()
    expect(page.locator("#eval-status")).to_contain_text("No results yet")  # an empty state, not empty headers
    expect(page.locator("#eval-summary")).to_be_hidden()
    page.locator("#eval-limit input").fill("2")
    page.locator("#eval-run").click()
    expect(page.locator("#eval-status")).to_contain_text("2/2 questions", timeout=TIMEOUT_MS)
    expect(page.locator("#eval-summary")).to_contain_text("token F1")
    for table in ("#eval-summary", "#eval-questions"):  # nothing wider than the page
        box = page.locator(table).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1440, (table, box)
    shot(page, "evaluate")
    assert error_badges(page) == 0

    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-status")).to_contain_text("Before you start")  # the estimate, before any click
    expect(page.locator("#train-cancel")).to_be_disabled()  # Cancel only while a run is active
    shot(page, "train")
    page.close()


def test_the_page_opens_while_start_up_indexes(workbench, browser):
    from playwright.sync_api import expect

    from workbench.ui import CSS, Startup, build_app

    startup = Startup()
    startup.progress(3, 8, "files", "reading hr-policies.md")
    demo = build_app(workbench.settings, workbench, startup).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=CSS)
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        expect(page.locator("#startup-banner")).to_contain_text("reading hr-policies.md: 3/8 files")
        page.locator("#question textarea").fill("What is the per diem?")
        page.locator("#ask").click()
        expect(page.get_by_text("the app is still starting")).to_have_count(1, timeout=TIMEOUT_MS)
        shot(page, "starting")
        startup.run(lambda progress: None)
        expect(page.locator("#startup-banner")).to_be_hidden(timeout=10_000)  # gone once indexing is done
        page.close()
    finally:
        demo.close()


def dropdown_options(page, elem_id: str) -> list[str]:
    """The options a dropdown offers, as a person sees them when opening it."""
    page.locator(f"#{elem_id} input").click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=TIMEOUT_MS)
    texts = [t.strip().splitlines()[-1].strip() for t in options.all_inner_texts()]  # without the ✓ of the chosen
    page.keyboard.press("Escape")
    return texts


def test_train_and_evaluate_offer_the_shipped_corpora_on_the_first_start(workbench, docs, browser):
    """A fresh data directory: nothing is indexed yet when the page opens."""
    from playwright.sync_api import expect

    from workbench.retrieval.ingest import ingest
    from workbench.ui import CSS, Startup, build_app

    workbench.store.delete_corpus("handbook")  # the store of a fresh clone: empty while start-up indexes
    startup = Startup()
    startup.progress(1, 8, "files", "reading hr-policies.md")
    demo = build_app(workbench.settings, workbench, startup).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=CSS)
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        expect(page.locator("#startup-banner")).to_contain_text("reading hr-policies.md")
        page.get_by_role("tab", name="Train").click()
        expect(page.locator("#train-corpus input")).to_have_value(re.compile("handbook"))
        opts = dropdown_options(page, "train-corpus")
        assert any(o.startswith("handbook") and "indexing" in o for o in opts), opts
        page.locator("#train-start").click()  # raft on a corpus still indexing: said under the corpus, no toast
        expect(page.get_by_text("is still being indexed")).to_have_count(1, timeout=TIMEOUT_MS)
        expect(page.get_by_text("not in the list of choices")).to_have_count(0)
        expect(page.locator("#train-start")).to_be_enabled()
        page.get_by_role("tab", name="Evaluate").click()
        options = dropdown_options(page, "eval-corpus")
        assert options[0] == "(the set's own corpus)" and any(o.startswith("handbook") for o in options), options
        page.get_by_role("tab", name="Decide").click()
        page.locator("#decide-run").click()
        expect(page.locator("#decide-status")).to_contain_text("'handbook' is still being indexed", timeout=TIMEOUT_MS)
        expect(page.locator("#decide-run")).to_be_enabled()
        shot(page, "first-start")
        startup.run(lambda progress: ingest(workbench.store, "handbook", [docs], workbench.settings.chunk_size,
                                            workbench.settings.chunk_overlap))
        expect(page.locator("#startup-banner")).to_be_hidden(timeout=10_000)
        page.get_by_role("tab", name="Train").click()
        assert "handbook (demo)" in dropdown_options(page, "train-corpus")  # indexed now, refreshed in place
        assert error_badges(page) == 0
        page.close()
    finally:
        demo.close()


def test_queue_position_stop_and_the_locked_ask_button(app_url, browser, workbench, monkeypatch):
    import time

    from playwright.sync_api import expect

    real = workbench.compare_stream

    def slow(*args, **kwargs):  # a long run, so a second user has to queue behind it
        for comparison in real(*args, **kwargs):
            time.sleep(0.5)
            yield comparison

    monkeypatch.setattr(workbench, "compare_stream", slow)
    first, second = (browser.new_page(viewport={"width": 1440, "height": 900}) for _ in range(2))
    for page in (first, second):
        page.goto(app_url)
        page.locator("#question textarea").fill("What is the per diem for Lisbon?")
    first.locator("#ask").click()
    expect(first.locator("#ask")).to_be_disabled(timeout=TIMEOUT_MS)  # no second run from the same page
    expect(first.locator("#stop")).to_be_enabled()
    second.locator("#ask").click()
    expect(second.locator("#compare-status")).to_contain_text("queue: 1/1", timeout=TIMEOUT_MS)
    shot(second, "queued")
    first.locator("#stop").click()
    expect(first.locator("#compare-status")).to_contain_text("Stopped")
    expect(first.locator("#ask")).to_be_enabled()
    expect(second.locator("#compare-status")).not_to_contain_text("queue", timeout=TIMEOUT_MS)  # its turn came
    second.locator("#stop").click()
    expect(second.locator("#compare-status")).to_contain_text("Stopped")
    expect(second.locator("#ask")).to_be_enabled()
    for page in (first, second):
        assert error_badges(page) == 0
        page.close()


def test_cancel_stops_an_evaluation_in_the_middle_of_a_batch(app_url, browser, workbench):
    """A batch of 8 questions takes ~5 s here (each forward pass slowed to 0.1 s); Cancel ends it within a step."""
    import time

    from playwright.sync_api import expect

    passes: list[float] = []

    def slow_pass(*_):
        time.sleep(0.1)
        passes.append(time.monotonic())

    handle = workbench.model.register_forward_hook(slow_pass)
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(app_url)
        page.get_by_role("tab", name="Evaluate").click()
        page.locator("#eval-limit input").fill("0")  # all 65 questions
        page.locator("#eval-run").click()
        expect(page.locator("#eval-status")).to_contain_text("generating the next 8", timeout=TIMEOUT_MS)
        page.locator("#eval-cancel").click()
        cancelled = time.monotonic()
        expect(page.locator("#eval-run")).to_be_enabled()
        expect(page.locator("#eval-status")).to_contain_text("0/65 questions on corpus handbook, cancelled")
        time.sleep(3)
        assert passes and passes[-1] - cancelled < 1.5  # the batch in flight needed seconds more
        assert error_badges(page) == 0  # a cancelled run is not an error
        page.close()
    finally:
        handle.remove()


def test_closing_the_page_stops_its_training(app_url, browser, workbench):
    import threading
    import time

    from playwright.sync_api import expect

    def training() -> bool:
        return any(t.name == "train gone" for t in threading.enumerate())

    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(app_url)
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-name textarea, #train-name input").first.fill("gone")
    page.get_by_text("Hyperparameters").click()
    page.locator("#train-epochs input").fill("50")
    page.locator("#train-start").click()
    expect(page.locator("#train-status")).to_contain_text("Step", timeout=TIMEOUT_MS)
    assert training()
    page.close()
    deadline = time.time() + 15
    while training() and time.time() < deadline:
        time.sleep(0.1)
    assert not training() and not (workbench.settings.data_path / "adapters" / "gone").exists()


def small_decide_corpus(workbench, monkeypatch, tmp_path) -> None:
    """A corpus 'company' of 30 facts, and Decide's plan kept as small as test_decide.py keeps it."""
    from test_decide import FACTS

    import workbench.decide.plan as plan
    from workbench.retrieval.ingest import ingest

    for name, value in (("MAX_QA_REPEATS", 2), ("MAX_RAFT_EPOCHS", 1.0), ("MAX_TEST_QUESTIONS", 8)):
        monkeypatch.setattr(plan, name, value)
    folder = tmp_path / "company"
    folder.mkdir()
    (folder / "facts.txt").write_text("\n\n".join(FACTS) + "\n")
    ingest(workbench.store, "company", [folder], workbench.settings.chunk_size, workbench.settings.chunk_overlap)


def choose_decide_corpus(page, name: str, expect) -> None:
    """Pick a corpus as a person does: type, then click its option; the box then shows it (a run never starts on
    another corpus because the list had not caught up)."""
    box = page.locator("#decide-corpus input")
    box.fill(name, timeout=TIMEOUT_MS)
    page.locator('[data-testid="dropdown-option"]', has_text=name).first.click(timeout=TIMEOUT_MS)
    expect(box).to_have_value(re.compile(rf"^{re.escape(name)}\b"))


def start_decide(page, app_url: str, expect) -> None:
    """Decide on 'company' in a freshly opened page; the button locks (no second run from the same page)."""
    page.goto(app_url)
    page.get_by_role("tab", name="Decide").click()
    expect(page.locator("#decide-cancel")).to_be_disabled()  # Cancel only while a run is active
    choose_decide_corpus(page, "company", expect)
    page.locator("#decide-run").click()
    expect(page.locator("#decide-run")).to_be_disabled(timeout=TIMEOUT_MS)


def test_a_decide_cancelled_in_the_queue_never_starts(app_url, browser, workbench, monkeypatch, tmp_path):
    import time

    from playwright.sync_api import expect

    small_decide_corpus(workbench, monkeypatch, tmp_path)
    handle = workbench.model.register_forward_hook(lambda *_: time.sleep(0.05))
    try:
        first, second = (browser.new_page(viewport={"width": 1440, "height": 900}) for _ in range(2))
        start_decide(first, app_url, expect)
        expect(first.locator("#decide-status")).to_contain_text("Stage", timeout=TIMEOUT_MS)
        start_decide(second, app_url, expect)
        expect(second.locator("#decide-status")).to_contain_text("queue: 1/1", timeout=TIMEOUT_MS)
        second.locator("#decide-cancel").click()
        first.locator("#decide-cancel").click()
        expect(first.locator("#decide-status")).to_contain_text("Cancelled during stage", timeout=TIMEOUT_MS)
        expect(second.locator("#decide-status")).to_contain_text("Cancelled before it started", timeout=TIMEOUT_MS)
        expect(second.locator("#decide-run")).to_be_enabled()
        assert len(list((workbench.settings.data_path / "decide").iterdir())) == 1  # only the first run's folder
        for page in (first, second):
            assert error_badges(page) == 0
            page.close()
    finally:
        handle.remove()


def test_cancel_stops_decide_at_its_next_step_and_open_resume_finishes_the_run(app_url, browser, workbench,
                                                                               monkeypatch, tmp_path):
    import threading
    import time

    from playwright.sync_api import expect

    small_decide_corpus(workbench, monkeypatch, tmp_path)

    def deciding() -> bool:
        return any(t.name.startswith("decide ") for t in threading.enumerate())

    handle = workbench.model.register_forward_hook(lambda *_: time.sleep(0.05))  # training takes seconds, not ms
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        start_decide(page, app_url, expect)
        expect(page.locator("#decide-open")).to_be_disabled()
        expect(page.locator("#decide-status")).to_contain_text("Stage 3 of", timeout=TIMEOUT_MS)  # training lora
        page.locator("#decide-cancel").click()
        expect(page.locator("#decide-status")).to_contain_text("Cancelled during stage", timeout=TIMEOUT_MS)
        assert not deciding()  # the run has stopped, not merely the page
        expect(page.locator("#decide-run")).to_be_enabled()
        expect(page.locator("#decide-cancel")).to_be_disabled()
        assert error_badges(page) == 0  # a cancelled run is not an error
        expect(page.locator("#decide-runs input")).to_have_value(re.compile("company, unfinished"))
        shot(page, "decide-cancelled")
    finally:
        handle.remove()
    page.locator("#decide-open").click()  # resumes the cancelled run after its last finished stage
    expect(page.locator("#decide-status")).to_contain_text(re.compile(r"Run \S+ finished\."), timeout=TIMEOUT_MS)
    expect(page.locator("#decide-verdict")).to_contain_text(re.compile("Use |Best measured"))
    assert error_badges(page) == 0
    page.close()


def test_a_refused_decide_leaves_the_tab_usable_and_a_run_then_finishes(app_url, browser, workbench, monkeypatch,
                                                                        tmp_path):
    from playwright.sync_api import expect

    from workbench.retrieval.ingest import ingest

    small_decide_corpus(workbench, monkeypatch, tmp_path)
    folder = tmp_path / "vague"
    folder.mkdir()
    (folder / "notes.txt").write_text("We like to work together. Good ideas are always welcome here.\n")
    ingest(workbench.store, "vague", [folder], workbench.settings.chunk_size, workbench.settings.chunk_overlap)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(app_url)
    page.get_by_role("tab", name="Decide").click()
    expect(page.locator("#decide-status")).to_contain_text("No report yet")  # an empty state, not empty boxes
    for empty in ("#decide-summary", "#decide-chart", "#decide-files"):
        expect(page.locator(empty)).to_be_hidden()
    plan = page.locator("#decide-estimate")
    choose_decide_corpus(page, "company", expect)  # before any run: the stages and their questions, no minutes
    expect(plan).to_contain_text("no Decide run on this machine yet", timeout=TIMEOUT_MS)
    expect(plan).to_contain_text("held out")
    expect(plan).to_contain_text("unanswerable")
    choose_decide_corpus(page, "vague", expect)  # why it cannot run, and what to do, before pressing Decide
    expect(plan).to_contain_text("Decide cannot run on", timeout=TIMEOUT_MS)
    expect(plan).to_contain_text("add such documents")
    shot(page, "decide-plan-refused")
    page.locator("#decide-run").click()
    status = page.locator("#decide-status")
    expect(status).to_contain_text("Decide stopped: no questions could be made", timeout=TIMEOUT_MS)
    expect(status).to_contain_text("add such documents")  # what to do
    expect(status).not_to_contain_text("Open / resume")  # resuming cannot help a corpus with too few facts
    expect(page.locator("#decide-run")).to_be_enabled()  # the tab is usable again, with no reload
    expect(page.locator("#decide-open")).to_be_enabled()
    expect(page.locator("#decide-cancel")).to_be_disabled()
    assert error_badges(page) == 0
    shot(page, "decide-refused")
    choose_decide_corpus(page, "company", expect)
    page.locator("#decide-run").click()
    # a whole run: its trainings run at a lower CPU priority (training.worker.WORKER_NICE), slower on a busy machine
    expect(status).to_contain_text(re.compile(r"Run \S+ finished\."), timeout=3 * TIMEOUT_MS)
    expect(page.locator("#decide-verdict")).to_contain_text(re.compile("Use |Best measured"))
    expect(page.locator("#decide-run")).to_be_enabled()
    expect(page.locator("#decide-chart")).to_contain_text("pays back")  # the caption under the break-even chart
    expect(plan).to_contain_text("the minimum budget for this corpus is", timeout=TIMEOUT_MS)  # measured by this run
    expect(plan).to_contain_text(re.compile(r"about \d+ min"))
    shot(page, "decide-plan")
    expect(page.locator("#decide-summary")).to_be_visible()
    needs = page.locator("#decide-needs")  # the decision table, shown first
    expect(needs).to_contain_text("admits when the documents do not say")
    expect(needs).to_contain_text("lowest cost at 100 queries a day")
    assert needs.bounding_box()["y"] < page.locator("#decide-summary").bounding_box()["y"]
    shot(page, "decide-report")
    assert error_badges(page) == 0
    page.locator("#decide-recheck").click()  # the documents did not change: said in one line, the report stays
    expect(status).to_contain_text("is unchanged since run", timeout=TIMEOUT_MS)
    expect(needs).to_be_visible()
    assert error_badges(page) == 0
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: every arm's column on screen, none cut off
    for arm in ("base", "rag", "lora", "raft"):
        header = page.locator("#decide-summary th").filter(has_text=arm).first
        box = header.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (arm, box)
    shot(page, "decide-report-phone")
    page.close()
