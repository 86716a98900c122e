"""The Corpora tab: upload files or a zip into a private per-session corpus, inspect it, delete, save to the library,
generate questions from it.

The tab's handlers are plain functions of the session state (ui/sessions.py: CorpusSessions) and the event's
values; ingesting and generating questions are jobs with a Cancel (ui/jobview.py). `build_corpora_tab` lays the
tab out and binds the handlers to its events.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd

from ..jobs import Job, JobCancelled, Jobs, Progress, reporter
from ..retrieval.admission import IngestSlots, ParseBudget, upload_bytes
from ..retrieval.archive import ArchiveLimits
from ..retrieval.ingest import IngestReport, check_chunking
from ..retrieval.loaders import supported_suffixes
from ..retrieval.parsing import ParseLimits, make_qa_files_limited
from ..retrieval.sessions import MAX_NAME, CorpusSession, SessionCorpora, check_shared_name
from ..retrieval.store import StoreError
from ..validation import check_number, check_text
from .errors import ok, user_errors, verdict
from .jobview import follow, job_buttons
from .sessions import SCOPE_LABELS, CorpusSessions, corpus_label
from .wiring import bind

if TYPE_CHECKING:
    from ..engine import Workbench

FAILURE_COLUMNS = ["file", "error"]


def report_markdown(report: IngestReport) -> str:
    ok, failed = len(report.files_ok), len(report.files_failed)
    if not ok:
        return f"**Nothing was ingested into {report.corpus}**: all {failed} files failed (reasons below)."
    text = (f"**{report.corpus}**: {ok} file{'s' * (ok != 1)} ingested, {report.chunks_added} new chunks, "
            f"{report.chunks_total} in the corpus. It is now selected in the Compare tab.")
    return text + (f" {failed} file{'s' * (failed != 1)} failed (reasons below)." if failed else "")


def docs_view(manager: SessionCorpora, value: CorpusSession, name: str | None) -> tuple[pd.DataFrame, dict]:
    """The chosen corpus's documents: their table and the document picker (empty for an unknown corpus)."""
    try:
        docs = manager.store.documents(manager.find(value.id, name).collection) if name else {}
    except StoreError:
        docs = {}
    table = pd.DataFrame(list(docs.items()), columns=["document", "chunks"])
    return table, gr.update(choices=list(docs), value=None)


def view(sessions: CorpusSessions, followers: int, value: CorpusSession, name: str | None, select: str | None = None,
         reset: bool = False) -> list:
    """The tab after a change: state, corpus picker, listing, documents, and the `followers` dropdowns of tabs built
    before this one."""
    manager = sessions.manager
    infos = manager.list(value.id)
    chosen = next((i.collection for i in infos if i.name == select), None)
    still_there = value.selected in {i.collection for i in infos}
    value = dataclasses.replace(value, corpora=manager.names(value.id),
                                selected=chosen or (value.selected if still_there else ""))
    names = [info.name for info in infos]
    name = select if select in names else name if name in names else (names[0] if names else None)
    table = pd.DataFrame([[i.name, SCOPE_LABELS[i.scope], i.chunks] for i in infos],
                         columns=["corpus", "where", "chunks"])
    follower = sessions.follower_update(value, infos, reset or bool(chosen))
    return [value, gr.update(choices=[(corpus_label(i), i.name) for i in infos], value=name), table,
            *docs_view(manager, value, name), *[follower] * followers]


def ingest_files(wb: Workbench, sessions: CorpusSessions, jobs: Jobs, slots: IngestSlots, budget: ParseBudget,
                 client_budget: ParseBudget, followers: int, run_id, paths, name_, size, overlap, value,
                 request: gr.Request, progress=gr.Progress()):
    """Ingest uploaded files (or zips) into this session's corpus as a job (Cancel stops it before anything is
    stored); returns the report first. `budget` is each session's parse time, `client_budget` each client
    address's."""
    s = wb.settings
    value = sessions.enter(value, request)
    with user_errors():
        if not paths:
            raise ValueError("choose some files (or a .zip) to upload first")
        # Checked before the upload is used, so the user can fix them and click Ingest again.
        name_ = check_shared_name(check_text(name_, "the corpus name", 200).strip())
        size = check_number(s.chunk_size if size is None else size, "chunk size", 1, 8192, integer=True)
        overlap = check_number(s.chunk_overlap if overlap is None else overlap, "overlap", 0, 8191, integer=True)
        check_chunking(size, overlap)
        client = sessions.holdings.address(request)
        left = min(budget.check(value.id), client_budget.check(client))  # parse time left for the hour
        # room for one more corpus, if it is new, held until the ingest ends; Busy: try again (the upload stays)
        with sessions.holdings.corpus_room(value.id, request, name_), slots.take(upload_bytes(paths)) as small:
            parse = ParseLimits.from_settings(s, budget_s=min(s.small_upload_parse_s if small else s.upload_parse_s,
                                                              left))
            # private copies: the cached files may be another session's upload of the same bytes too
            private = sessions.uploads.take(list(paths))
            try:
                def work(job: Job):
                    return sessions.manager.ingest(value.id, name_, private, size, overlap,
                                                   ArchiveLimits.from_settings(s), reporter(job, "ingest"), parse,
                                                   cancel=job.cancelled)
                report = follow(jobs, work, f"ingest {name_}", run_id, progress)
            except JobCancelled:
                return [None, f"**Cancelled**: nothing was added to **{name_}**.", empty_failures(),
                        *view(sessions, followers, value, name_)]
            finally:
                sessions.uploads.release(private)
            budget.spend(value.id, report.parse_s)
            client_budget.spend(client, report.parse_s)
    table = pd.DataFrame([[f["file"], f["error"]] for f in report.files_failed], columns=FAILURE_COLUMNS)
    selected = report.corpus if report.files_ok else None
    return [dataclasses.asdict(report), report_markdown(report), table,
            *view(sessions, followers, value, report.corpus, select=selected)]


def empty_failures() -> pd.DataFrame:
    return pd.DataFrame(columns=FAILURE_COLUMNS)


def validate_ingest(paths, name_, size, overlap, value):
    """Checked before the upload is queued: a refusal shows under its input and nothing else changes."""
    def has_files(p):
        if not p:
            raise ValueError("choose some files (or a .zip) to upload first")
    def good_name(n):
        check_shared_name(check_text(n, "the corpus name", 10 * MAX_NAME).strip())  # its own message if empty
    return [verdict(has_files, paths), verdict(good_name, name_), ok(), ok(), ok()]


def refresh(sessions: CorpusSessions, followers: int, name_, value, request: gr.Request):
    """The corpora this session can use and the chosen one's documents (on load and Refresh)."""
    return view(sessions, followers, sessions.enter(value, request), name_)


def show(sessions: CorpusSessions, name_, value, request: gr.Request):
    """The documents of a corpus; an unknown corpus is an error, not an empty table."""
    value = sessions.enter(value, request)
    with user_errors():
        sessions.manager.find(value.id, name_ or "")
    return list(docs_view(sessions.manager, value, name_))


def delete_document(sessions: CorpusSessions, followers: int, name_, source, value, request: gr.Request):
    """Delete one document from a corpus of this session."""
    value = sessions.enter(value, request)
    with user_errors():
        if not name_ or not source:
            raise ValueError("choose a corpus and one of its documents first")
        removed = sessions.manager.delete_document(value.id, name_, source)
    return [f"Deleted **{source}** ({removed} chunks) from {name_}.", *view(sessions, followers, value, name_,
                                                                            reset=True)]


def delete_corpus(sessions: CorpusSessions, followers: int, name_, value, request: gr.Request):
    """Delete a corpus of this session."""
    value = sessions.enter(value, request)
    with user_errors():
        if not name_:
            raise ValueError("choose a corpus first")
        sessions.manager.delete_corpus(value.id, name_)
    return [f"Deleted corpus **{name_}**.", *view(sessions, followers, value, None, reset=True)]


def save(sessions: CorpusSessions, followers: int, name_, new_name, value, request: gr.Request):
    """Copy a corpus of this session to the shared library (under the new name when one is given)."""
    value = sessions.enter(value, request)
    with user_errors():
        if not name_:
            raise ValueError("choose one of your corpora first")
        saved = sessions.manager.save(value.id, name_, new_name or "")
    return [f"Saved **{name_}** to the shared library as **{saved}**: every session sees it and it survives "
            "restarts.", *view(sessions, followers, value, saved, select=saved)]


def use(sessions: CorpusSessions, followers: int, name_, value, request: gr.Request):
    """Make a corpus the one the rag and raft arms use in the Compare tab."""
    value = sessions.enter(value, request)
    with user_errors():
        info = sessions.manager.find(value.id, name_ or "")
    return [f"The rag and raft arms now use **{info.name}** in the Compare tab.",
            *view(sessions, followers, value, info.name, select=info.name)]


def generate_qa(wb: Workbench, sessions: CorpusSessions, jobs: Jobs, run_id, name_, max_facts, test_share, value,
                request: gr.Request, progress=gr.Progress()):
    """Q/A from the chosen corpus (workbench/qa) as a job in a parsing worker (Cancel stops the worker): quality
    figures first, then the train and test files."""
    import tempfile
    from pathlib import Path

    from ..qa.run import shipped_reference

    s = wb.settings
    value = sessions.enter(value, request)
    with user_errors():
        info = sessions.manager.find(value.id, name_ or "")
        chunks = sessions.manager.store.chunks(info.collection)
        if not chunks:
            raise ValueError(f"corpus {info.name} is empty: ingest some documents first")
        out = Path(tempfile.mkdtemp(prefix="workbench-qa-")) / f"{info.name}-qa.jsonl"
        reference = shipped_reference(info.name) if info.scope == "shipped" else None

        def work(job: Job):
            job.report(Progress("questions", 0, 1, "corpus",
                                message=f"generating questions from {len(chunks)} passages (in a worker process)"))
            return make_qa_files_limited(ParseLimits.from_settings(s), s.qa_timeout_s, chunks, out,
                                         int(max_facts) or None, float(test_share), reference, job.cancelled)
        try:
            q = follow(jobs, work, f"questions {info.name}", run_id, progress)
        except JobCancelled:
            return "**Cancelled**: no questions were written.", None
    return qa_markdown(info.name, q), [q["out"], q["test_out"]]


def qa_markdown(name: str, q: dict) -> str:
    """The figures of a question generation run (make_qa_files' summary `q`) for the corpus `name`."""
    return (f"**{name}**: {q['facts']} facts ({q['facts_per_1000_words']} per 1,000 words), "
            f"{q['questions']} questions; {q['train']} train rows "
            f"({q['train_facts']} facts, every phrasing), {q['test']} test rows ({q['test_facts']} held-out facts, "
            f"reworded). Answer verbatim in its passage: **{q['answer_in_source']:.0%}**; questions copying no "
            f"6-word run: **{q['no_copy_6']:.0%}**; duplicates removed: {q['duplicates_removed']}."
            + (f" Recall of the {q['reference']} hand-written facts shipped with it: **{q['recall']:.0%}**."
               if "recall" in q else ""))


def upload_help(s) -> str:
    """What the tab says above the upload: formats, the size limit and who sees the uploads (Settings `s`)."""
    limit = f" Up to {s.max_upload_size} per file." if s.max_upload_size else ""
    return ("Upload your own documents to compare the arms on them. Formats: "
            f"{', '.join(supported_suffixes())} (a zip may hold any of the others).{limit} "
            "Uploads are private to this browser session and deleted after it ends"
            + (", unless you save them to the shared library." if s.shared_library else "."))


def questions_section(wb: Workbench, sessions: CorpusSessions, jobs: Jobs, corpus: gr.Dropdown) -> None:
    """Generate questions from the chosen corpus: its figures and the train / test files, as a job with a Cancel."""
    with gr.Accordion("Generate questions (offline Q/A for training and evaluation)", open=False):
        with gr.Row():
            qa_max = gr.Number(0, label="At most N facts (0: all)", precision=0, minimum=0, elem_id="qa-max-facts")
            qa_test = gr.Slider(0.0, 0.5, value=0.2, step=0.05, label="Held-out test share", elem_id="qa-test-share")
            with gr.Column():
                qa_button = gr.Button("Generate questions", elem_id="generate-qa")
                qa_cancel = gr.Button("Cancel", variant="stop", elem_id="qa-cancel", interactive=False)
        qa_summary = gr.Markdown(elem_id="qa-summary")
        qa_files = gr.File(label="train / test JSONL", file_count="multiple", interactive=False, elem_id="qa-files")
    job_buttons(jobs, [qa_button], qa_cancel).wire(
        qa_button, bind(generate_qa, wb, sessions, jobs), [corpus, qa_max, qa_test, sessions.state],
        [qa_summary, qa_files], api_name="generate_qa", concurrency_id="generate_qa")


def build_corpora_tab(wb: Workbench, sessions: CorpusSessions, jobs: Jobs | None = None) -> None:
    """The tab's layout and events; the handlers above get the session state, the app's jobs and the ingest limits
    bound."""
    jobs = jobs if jobs is not None else Jobs()
    s = wb.settings
    slots = IngestSlots(s.ingest_concurrency, 1, s.ingest_waiting, s.ingest_small_bytes)
    budget = ParseBudget(s.session_parse_s)
    client_budget = ParseBudget(s.client_parse_s, who="your address (all its sessions)")
    gr.Markdown(upload_help(s))
    with gr.Row():
        with gr.Column(scale=3):
            # No file_types filter: Gradio would refuse the whole batch for one odd file, while ingestion
            # lists that file with its reason and takes the rest.
            files = gr.File(label="Files or a .zip", file_count="multiple", elem_id="upload-files")
        with gr.Column(scale=2):
            name = gr.Textbox("my-docs", label="Corpus name", elem_id="upload-corpus",
                              info=f"3-{MAX_NAME} letters, digits, '.', '_' or '-'; uploading again adds to it")
            with gr.Row():
                chunk_size = gr.Number(s.chunk_size, label="Chunk size (tokens)", precision=0, minimum=8, maximum=4096)
                chunk_overlap = gr.Number(s.chunk_overlap, label="Overlap (tokens)", precision=0, minimum=0)
            with gr.Row():
                ingest_button = gr.Button("Ingest", variant="primary", elem_id="ingest", scale=3)
                ingest_cancel = gr.Button("Cancel", variant="stop", elem_id="ingest-cancel", interactive=False,
                                          scale=1)
    summary = gr.Markdown(elem_id="ingest-summary")
    failures = gr.Dataframe(empty_failures(), label="Files that failed", wrap=True,
                            interactive=False, elem_id="ingest-failures")
    with gr.Accordion("Ingest report (JSON)", open=False):
        report_json = gr.JSON(elem_id="ingest-report")

    gr.Markdown("### Corpora")
    with gr.Row():
        # Custom values are allowed because access is checked by the server (SessionCorpora.find), and API
        # clients may name a corpus before this session's choices were ever sent.
        corpus = gr.Dropdown([], label="Corpus", elem_id="manage-corpus", scale=3, allow_custom_value=True)
        refresh_button = gr.Button("Refresh", scale=1)
    listing = gr.Dataframe(pd.DataFrame(columns=["corpus", "where", "chunks"]), label="Corpora you can use",
                           interactive=False, elem_id="corpus-list")
    documents = gr.Dataframe(pd.DataFrame(columns=["document", "chunks"]), label="Documents of the chosen corpus",
                             interactive=False, elem_id="corpus-documents")
    with gr.Row():
        document = gr.Dropdown([], label="Document", elem_id="manage-document", scale=3, allow_custom_value=True)
        delete_document_button = gr.Button("Delete document", variant="stop", scale=1)
    with gr.Row():
        use_button = gr.Button("Use in Compare", elem_id="use-corpus")
        delete_corpus_button = gr.Button("Delete corpus", variant="stop", elem_id="delete-corpus")
    with gr.Row(visible=s.shared_library):
        save_name = gr.Textbox(label="Name in the shared library (empty: keep the name)", scale=3)
        save_button = gr.Button("Save to shared library", scale=1, elem_id="save-corpus")
    status = gr.Markdown(elem_id="corpora-status")
    questions_section(wb, sessions, jobs, corpus)

    followers = list(sessions.followers)  # dropdowns of tabs built before this one get direct updates
    view_outputs = [sessions.state, corpus, listing, documents, document, *followers]
    n = len(followers)

    # Refusals found while running show on the status line only (show_progress_on), not on every output.
    state = sessions.state
    job_buttons(jobs, [ingest_button], ingest_cancel).wire(
        ingest_button, bind(ingest_files, wb, sessions, jobs, slots, budget, client_budget, n),
        [files, name, chunk_size, chunk_overlap, state], [report_json, summary, failures, *view_outputs],
        validator=validate_ingest, api_name="ingest", concurrency_id="ingest", concurrency_limit=slots.concurrency,
        show_progress_on=[summary])
    refresh_button.click(bind(refresh, sessions, n), [corpus, state], view_outputs, api_name="corpora",
                         show_progress_on=[listing])
    corpus.input(bind(show, sessions), [corpus, state], [documents, document], api_name="documents",
                 show_progress_on=[documents])
    delete_document_button.click(bind(delete_document, sessions, n), [corpus, document, state], [status, *view_outputs],
                                 api_name="delete_document", show_progress_on=[status])
    delete_corpus_button.click(bind(delete_corpus, sessions, n), [corpus, state], [status, *view_outputs],
                               api_name="delete_corpus", show_progress_on=[status])
    save_button.click(bind(save, sessions, n), [corpus, save_name, state], [status, *view_outputs],
                      api_name="save_corpus", show_progress_on=[status])
    use_button.click(bind(use, sessions, n), [corpus, state], [status, *view_outputs], api_name="use_corpus",
                     show_progress_on=[status])
    sessions.demo.load(bind(refresh, sessions, n), [corpus, state], view_outputs, api_visibility="private")
