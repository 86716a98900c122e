"""What a hostile user, a crowd or a crash can do to the shared app: each probe goes through the real HTTP routes
(gradio_client and raw requests) of `build_app` on the tiny workbench, and each refusal must carry a message."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import save_random_adapter

from workbench.ui import build_app

pytestmark = pytest.mark.ui


@contextmanager
def launched(wb, queue_again: bool = False, **launch_kwargs):
    demo = build_app(wb.settings, wb)  # build_app sets up the bounded queue itself
    if queue_again:
        demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_kwargs)
    try:
        yield url.rstrip("/")
    finally:
        demo.close()


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


def raw_call(url: str, api: str, body: str, timeout: float = 60) -> tuple[str, object]:
    """POST a raw JSON body (what no well-behaved client would send) to /gradio_api/call/<api>: (event, data)."""
    with httpx.Client(base_url=url, timeout=timeout) as http:
        posted = http.post(f"/gradio_api/call/{api}", content=body, headers={"content-type": "application/json"})
        if posted.status_code != 200:  # refused before queueing: the validators' or the queue's message, if any
            try:
                detail = posted.json().get("detail")
            except ValueError:
                detail = None
            if isinstance(detail, list):  # Gradio validators: one {"is_valid", "message"} per input
                detail = "; ".join(d.get("message", "") for d in detail if isinstance(d, dict) and not d.get("is_valid"))
            return "http", (f"{posted.status_code}: {detail}" if isinstance(detail, str) and detail.strip()
                            else posted.status_code)
        event_id = posted.json()["event_id"]
        event, data = None, None
        with http.stream("GET", f"/gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line.split(":", 1)[1])
                    return event, data.get("error") if isinstance(data, dict) and event == "error" else data
    return event, data


def upload_raw(url: str, path: Path) -> str:
    """Upload a file the way the browser does; returns its path in Gradio's cache."""
    with httpx.Client(base_url=url, timeout=30) as http:
        response = http.post("/gradio_api/upload", files={"files": (path.name, path.read_bytes())})
        response.raise_for_status()
        return response.json()[0]


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def ingest(c, files, name="mine"):
    out = c.predict(files, name, 40, 5, api_name="/ingest")
    return out[0], out[-1]["value"]  # the report, and the collection the Compare dropdown now selects


# --- hostile input: the compare API ------------------------------------------------------------------------
BAD_COMPARE_REQUESTS = [  # raw JSON of the /compare arguments, and what the refusal must say
    ('["q?", "base", "", 0, 100000, -1, "", "", ""]', "max_new_tokens must be between 1 and 512, got 100000"),
    ('["q?", "base", "", 0, 8, 99, "", "", ""]', "temperature must be between 0 and 2, got 99"),
    ('["q?", "rag", "", 1e400, 8, -1, "", "", ""]', "top_k must be a finite number"),
    ('["q?", "rag", "", 21, 8, -1, "", "", ""]', "top_k must be between 1 and 20, got 21"),
    ('["q?", "rag", "", 2.5, 8, -1, "", "", ""]', "top_k must be a whole number"),
    ('["q?", "base", "", 0, NaN, -1, "", "", ""]', "max_new_tokens must be a finite number"),
    ('[[1, 2], "base", "", 0, 8, -1, "", "", ""]', "the question must be text, got list"),
    ('[5, "base", "", 0, 8, -1, "", "", ""]', "the question must be text, got int"),
    ('["\\ud800 lone", "base", "", 0, 8, -1, "", "", ""]', "invalid characters (lone UTF-16 surrogates)"),
    ('["q?", ["base"], "", 0, 8, -1, "", "", ""]', "arms must be text, got list"),
    ('["q?", "base", "", "3", 8, -1, "", "", ""]', "top_k must be a number, got str"),
    ('["q?", "base", "", 0, 8, -1, "", "/root", ""]', "no adapter named '/root'"),
]


def test_compare_refuses_what_the_sliders_would_not_allow_with_a_message(workbench):
    with launched(workbench) as url:
        for data, message in BAD_COMPARE_REQUESTS:
            event, detail = raw_call(url, "compare", '{"data": %s}' % data)
            assert event == "error" and detail and message in detail, (data, event, detail)
        assert raw_call(url, "compare", '{"data": ["q?", "base", "", 0, 4, 0, "", "", ""]}')[0] == "complete"


CHECKED_ENDPOINTS = ["compare", "compare_stream", "ingest", "corpora", "documents", "delete_document",
                     "delete_corpus", "save_corpus", "use_corpus", "evaluate", "train", "upload_adapter"]


def test_wrong_types_on_every_endpoint_get_a_message(workbench):
    """Lists, objects, numbers and lone surrogates where text or numbers belong: each refusal says something.

    Only parameters that reach our handlers as they come get the bad values (Textbox, Dropdown, gr.api); the
    others get their example value, since Gradio's own preprocessing of Number, Slider, File, Checkbox... payloads
    runs before any handler (and answers a malformed one without a message unless show_error is on).
    """
    with launched(workbench) as url:
        info = httpx.get(f"{url}/gradio_api/info").json()["named_endpoints"]
        for name in CHECKED_ENDPOINTS:
            params = info[f"/{name}"]["parameters"]
            for bad in ([1, 2], {"a": 1}, 3.5, "\ud800"):
                data = [bad if p["component"] in ("Textbox", "Dropdown", "Api") else
                        None if p["component"] == "File" else p["example_input"] for p in params]
                event, detail = raw_call(url, name, json.dumps({"data": data}))
                assert event == "complete" or (isinstance(detail, str) and detail.strip()), (name, bad, event, detail)


PUBLIC_ENDPOINTS = [*CHECKED_ENDPOINTS, "generate_qa", "vote_base", "vote_rag", "vote_lora", "vote_raft",
                    "vote_all_bad"]


def malformed(params: list[dict]) -> list[tuple[str, str]]:
    """(what, raw JSON body) of malformed calls of an endpoint with these parameters."""
    n, huge = len(params), "x" * (4 * 2**20)
    bodies = [("nulls", json.dumps({"data": [None] * n})), ("missing fields", json.dumps({"data": []})),
              ("one field short", json.dumps({"data": [p["example_input"] for p in params][:-1]})),
              ("one field too many", json.dumps({"data": [p["example_input"] for p in params] + ["extra"]})),
              ("data not a list", json.dumps({"data": {"question": "q?"}})), ("no data", "{}"),
              ("not JSON", "{\"data\": [")]
    for bad in ([1, 2], {"a": 1}, True, huge, "\ud800"):
        bodies.append((f"{str(bad)[:8]!r} everywhere", json.dumps({"data": [bad] * n})))
    return bodies


def test_malformed_payloads_get_a_one_line_message_and_lose_nothing(workbench, tmp_path):
    """Wrong types, huge strings, nulls and missing fields on every public endpoint: each is answered (a result or
    a one-line message, never a stack trace), and what was stored before is all still there."""
    from gradio_client import handle_file

    doc = tmp_path / "kept.txt"
    doc.write_text("The vault code is 7291.")
    with launched(workbench) as url:
        c = client(url)
        _, collection = ingest(c, [handle_file(str(doc))], "kept")
        answers = list(c.predict("q?", "handbook", 3, 8, 0.0, "", "(none)", "(none)", api_name="/compare_stream")[0::4])
        c.predict("q?", *answers, api_name="/vote_rag")
        votes = workbench.settings.data_path / "votes.sqlite"
        before = (workbench.store.count("handbook"), workbench.store.count(collection), votes.stat().st_size)
        info = httpx.get(f"{url}/gradio_api/info").json()["named_endpoints"]
        for name in PUBLIC_ENDPOINTS:
            for what, body in malformed(info[f"/{name}"]["parameters"]):
                event, detail = raw_call(url, name, body)
                if event == "complete" or (event, detail) == ("http", 422):  # FastAPI's field list: not {"data": [...]}
                    continue
                assert isinstance(detail, str) and detail.strip(), (name, what, event, detail)
                assert "\n" not in detail.strip() and "Traceback" not in detail and len(detail) < 400, (name, what, detail)
        assert (workbench.store.count("handbook"), workbench.store.count(collection)) == before[:2]
        assert votes.stat().st_size <= before[2] + 16 * 1024  # no huge vote got in
        assert c.predict(collection, api_name="/documents")[0]["data"] == [["kept.txt", 1]]
        c.close()


def test_a_long_question_is_refused_before_it_reaches_the_model(workbench):
    workbench.settings.max_question_tokens = 16
    with launched(workbench) as url:
        c = client(url)
        with pytest.raises(Exception, match="tokens long; the limit is 16"):
            c.predict("per diem " * 20, "base", api_name="/compare")
        with pytest.raises(Exception, match="too long: the limit is 16 tokens"):
            c.predict("x" * 5000, "base", api_name="/compare")
        c.close()


def test_the_streaming_endpoint_checks_the_same_bounds(client):
    with pytest.raises(Exception, match="greater than maximum value 512|max_new_tokens must be between 1 and 512"):
        client.predict("q?", "handbook", 3, 100000, 0.0, "", "(none)", "(none)", api_name="/compare_stream")
    with pytest.raises(Exception, match="no adapter named '/etc'"):
        client.predict("q?", "handbook", 3, 8, 0.0, "", "/etc", "(none)", api_name="/compare_stream")


def test_adapters_come_only_by_name_and_the_message_reveals_no_folder(workbench, tmp_path):
    save_random_adapter(workbench.model, tmp_path / "outside")  # a valid adapter folder outside the adapter dirs
    with launched(workbench) as url:
        c = client(url)
        messages = []
        for value in ("/root", "/does/not/exist", str(tmp_path / "outside")):
            with pytest.raises(Exception) as refused:
                c.predict("q?", "lora", "", 0, 4, 0.0, "", value, "", api_name="/compare")
            messages.append(str(refused.value).replace(repr(value[:64]), "X"))
        assert len(set(messages)) == 1 and "no adapter named X; choose one of" in messages[0]
        c.close()


# --- hostile input: adapter uploads --------------------------------------------------------------------
def write_adapter(workbench, folder: Path, **config_changes) -> Path:
    save_random_adapter(workbench.model, folder)
    config = json.loads((folder / "adapter_config.json").read_text())
    config.update(config_changes)
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder


HOSTILE_CONFIGS = [  # changes to a valid adapter_config.json, and what the refusal must say

    ({"target_modules": "(.|.|.)*z"}, "target_modules is a string, which peft treats as a regular expression"),
    ({"target_modules": ["q_proj", "(.|.|.)*z"]}, "target_modules must be a list of module names"),
    ({"rank_pattern": {"q_proj": 1000000}}, "rank_pattern['q_proj'] is 1000000; ranks from 1 to 256"),
    ({"rank_pattern": {"(.|.|.)*z": 4}}, "the keys of rank_pattern must be a list of module names"),
    ({"alpha_pattern": {"q_proj": float("inf")}}, "alpha_pattern['q_proj'] must be a number"),
    ({"r": 100000}, "r is 100000; ranks from 1 to 256"),
    ({"layers_pattern": "(a+)+$", "layers_to_transform": [0]}, "layers_pattern is not supported"),
    ({"layer_replication": [[0, 2], [0, 2]]}, "layer_replication is not supported"),
    ({"init_lora_weights": "pissa"}, "would change the base weights"),
]


def test_adapter_configs_that_hang_or_bloat_the_model_are_refused_at_upload(client, workbench, tmp_path):
    from gradio_client import handle_file

    for number, (changes, message) in enumerate(HOSTILE_CONFIGS):
        folder = write_adapter(workbench, tmp_path / f"evil{number}", **changes)
        files = [handle_file(str(folder / n)) for n in ("adapter_config.json", "adapter_model.safetensors")]
        started = time.perf_counter()
        with pytest.raises(Exception, match=re.escape(message)):
            client.predict(files, "evil", False, api_name="/upload_adapter")
        assert time.perf_counter() - started < 20
    assert not (workbench.settings.data_path / "adapters" / "evil").exists()


def test_an_installed_regex_adapter_fails_fast_in_its_column_and_others_still_answer(client, workbench):
    # e.g. copied into the adapter directory by hand, or installed by an older version
    write_adapter(workbench, workbench.settings.data_path / "adapters" / "regex", target_modules="(.|.|.)*z")
    started = time.perf_counter()
    out = client.predict("q?", "base,lora", "", 0, 4, 0.0, "", "regex", "", api_name="/compare")
    assert time.perf_counter() - started < 30
    base, lora = out["arms"]
    assert "regular expression" in lora["error"] and base["error"] is None and base["metrics"]["output_tokens"] > 0


def test_extra_files_do_not_ride_along_with_an_adapter(client, workbench, tmp_path):
    from gradio_client import handle_file

    folder = save_random_adapter(workbench.model, tmp_path / "plus")
    (folder / "adapter_model.bin").write_bytes(b"\x80\x04 a pickle that must never be stored")
    (folder / "run.sh").write_text("rm -rf /")
    files = [handle_file(str(p)) for p in sorted(folder.iterdir())]
    status = client.predict(files, "evil-plus", False, api_name="/upload_adapter")
    assert "Installed adapter **evil-plus**" in status
    assert "adapter_model.bin (pickle, never opened)" in status and "run.sh (not part of a LoRA adapter)" in status
    stored = sorted(p.name for p in next((workbench.settings.data_path / "adapters").glob("sessions/*/evil-plus")).iterdir())
    assert stored == ["README.md", "adapter_config.json", "adapter_model.safetensors"]


def test_adapter_zips_have_size_and_ratio_guards(client, workbench, tmp_path):
    from gradio_client import handle_file

    folder = save_random_adapter(workbench.model, tmp_path / "src")
    bloated = tmp_path / "bloated.zip"  # a config padded to 8 MB: deflates ~1000:1
    config = json.loads((folder / "adapter_config.json").read_text())
    config["padding"] = " " * (8 * 2**20)
    with zipfile.ZipFile(bloated, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("adapter_config.json", json.dumps(config))
        z.write(folder / "adapter_model.safetensors", "adapter_model.safetensors")
    with pytest.raises(Exception, match="looks like a zip bomb"):
        client.predict([handle_file(str(bloated))], "bloated", False, api_name="/upload_adapter")
    big = tmp_path / "big.zip"  # large but not compressible: refused by the config's own size cap
    config["padding"] = __import__("secrets").token_hex(40_000)
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as z:
        z.writestr("adapter_config.json", json.dumps(config))
        z.write(folder / "adapter_model.safetensors", "adapter_model.safetensors")
    with pytest.raises(Exception, match="adapter_config.json is 0.1 MB; the limit is 0.06 MB"):
        client.predict([handle_file(str(big))], "big", False, api_name="/upload_adapter")
    assert not any((workbench.settings.data_path / "adapters").rglob("adapter_*"))


def test_an_uploaded_adapter_belongs_to_its_session_and_shadows_nothing(workbench, tmp_path):
    from gradio_client import handle_file

    def upload(c, folder, name):
        files = [handle_file(str(folder / n)) for n in ("adapter_config.json", "adapter_model.safetensors")]
        return c.predict(files, name, False, api_name="/upload_adapter")

    save_random_adapter(workbench.model, workbench.settings.data_path / "adapters" / "team")  # the CLI's, shared
    folders = {n: save_random_adapter(workbench.model, tmp_path / n, seed=seed) for n, seed in (("a", 1), ("b", 2))}
    with launched(workbench) as url:
        a, b = client(url), client(url)
        assert "Installed adapter **mine**" in upload(a, folders["a"], "mine")
        with pytest.raises(Exception, match="'team' already exists"):  # no upload shadows another's adapter
            upload(b, folders["b"], "team")
        mine = a.predict("q?", "lora", "", 0, 4, 0.0, "", "mine", "", api_name="/compare")["arms"][0]
        assert mine["error"] is None and mine["adapter"].endswith("--mine")
        for name in ("mine", mine["adapter"]):  # b sees no adapter of a's, by either name
            with pytest.raises(Exception, match="no adapter named .*; choose one of: auto, .*team"):
                b.predict("q?", "lora", "", 0, 4, 0.0, "", name, "", api_name="/compare")
        # b's own "mine": no collision, and a's column still answers with a's weights
        assert "Installed adapter **mine**" in upload(b, folders["b"], "mine")
        theirs = b.predict("q?", "lora", "", 0, 4, 0.0, "", "mine", "", api_name="/compare")["arms"][0]
        again = a.predict("q?", "lora", "", 0, 4, 0.0, "", "mine", "", api_name="/compare")["arms"][0]
        assert theirs["adapter"] != again["adapter"] == mine["adapter"] and again["answer"] == mine["answer"]
        # the shared listing (a new session's dropdowns) names neither
        info = httpx.get(f"{url}/gradio_api/info").json()["named_endpoints"]["/compare_stream"]["parameters"]
        assert "--mine" not in json.dumps(info)
        assert (workbench.settings.data_path / "adapters" / "team").is_dir()  # untouched
        a.close(), b.close()


def test_a_closed_session_s_adapter_leaves_the_model(workbench, tmp_path, monkeypatch):
    """Issue #26: a deleted session's adapter weights stayed loaded in the engine's PeftModel."""
    from gradio_client import handle_file
    from peft import PeftModel

    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.2")  # notice the closed client quickly
    workbench.settings.session_corpus_ttl = 0.5
    folder = save_random_adapter(workbench.model, tmp_path / "adapter")
    with launched(workbench) as url:
        a = client(url)
        files = [handle_file(str(folder / n)) for n in ("adapter_config.json", "adapter_model.safetensors")]
        a.predict(files, "mine", False, api_name="/upload_adapter")
        assert a.predict("q?", "lora", "", 0, 4, 0.0, "", "mine", "", api_name="/compare")["arms"][0]["error"] is None
        assert len(workbench.attached_adapters) == 1 and isinstance(workbench.model, PeftModel)
        a.close()
        deadline = time.time() + 15
        while workbench.attached_adapters and time.time() < deadline:
            time.sleep(0.2)
        assert workbench.attached_adapters == {} and not isinstance(workbench.model, PeftModel)
        assert not any(n for n, _ in workbench.model.named_parameters() if "lora_" in n)


# --- private corpora -------------------------------------------------------------------------------------
def test_a_private_corpus_answers_only_its_own_session_on_every_endpoint(workbench, tmp_path):
    from gradio_client import handle_file

    secret = tmp_path / "secret.txt"
    secret.write_text("The alice passphrase is tangerine submarine.")
    with launched(workbench) as url:
        a, b = client(url), client(url)
        _, collection = ingest(a, [handle_file(str(secret))], "alice-secret")
        assert collection.startswith("session--")
        mine = a.predict("passphrase?", "rag", collection, api_name="/compare")["arms"][0]["passages"]
        assert "tangerine" in mine[0]["text"]

        with pytest.raises(Exception, match="no corpus .* in this session"):
            b.predict("passphrase?", "rag", collection, api_name="/compare")
        for api, args in [("/documents", (collection,)), ("/delete_corpus", (collection,)),
                          ("/delete_document", (collection, "secret.txt")), ("/use_corpus", (collection,))]:
            with pytest.raises(Exception, match="no corpus"):
                b.predict(*args, api_name=api)
        eval_set = tmp_path / "steal.jsonl"
        eval_set.write_text(json.dumps({"question": "passphrase?", "answer": "tangerine"}) + "\n")
        with pytest.raises(Exception, match="no corpus|not in the list of choices"):
            b.predict(None, handle_file(str(eval_set)), ["rag"], 1, collection, 3, 8, 0.0, "(none)", "(none)", False,
                      api_name="/evaluate")
        with pytest.raises(Exception, match="no corpus|not in the list of choices"):
            b.predict("(uploaded file)", handle_file(str(eval_set)), "raft", collection, "stolen", 1, 1e-3, 1, 256, 4,
                      8, 0.0, 2, 0.8, api_name="/train")
        assert workbench.store.count(collection) == 1  # nothing of a's was touched
        a.close(), b.close()


def test_an_upload_is_removed_from_gradios_cache_once_ingested(workbench, tmp_path):
    secret = tmp_path / "diary.txt"
    secret.write_text("Dear diary, the vault code is 7291.")
    with launched(workbench) as url:
        cached = upload_raw(url, secret)
        assert httpx.get(f"{url}/gradio_api/file={cached}").status_code == 200  # what the issue saw, before
        a = client(url)
        with pytest.raises(Exception, match="invalid corpus name"):
            ingest(a, [file_data(cached)], "x!")  # a refused name leaves the upload for the retry
        assert Path(cached).exists()
        report, _ = ingest(a, [file_data(cached)], "diary")
        assert report["files_ok"] == ["diary.txt"]
        assert httpx.get(f"{url}/gradio_api/file={cached}").status_code in (403, 404)
        assert not Path(cached).exists()
        a.close()


def test_two_sessions_that_upload_the_same_file_each_ingest_it(workbench, tmp_path):
    """Issue #26: Gradio caches identical uploads under one path, and the first session's ingest deleted the file
    before the other session's was parsed ("No such file or directory")."""
    same = tmp_path / "same.txt"
    same.write_text("The shared parking code is 5521.")
    with launched(workbench) as url:
        cached = [upload_raw(url, same) for _ in range(3)]  # three browsers, one file in Gradio's cache
        assert len(set(cached)) == 1
        results: dict[int, tuple] = {}

        def run(i):  # raw HTTP: gradio_client would look for the path on this machine, where the server is
            results[i] = raw_call(url, "ingest", json.dumps({"data": [[file_data(cached[i])], f"copy{i}", 40, 5]}))

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]  # two at once
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        run(2)  # and one after them
        for i in range(3):
            event, data = results[i]
            assert event == "complete", data
            assert data[0]["files_ok"] == ["same.txt"], data[0]["files_failed"]
            collection = data[-1]["value"]
            assert ["The shared parking code is 5521."] == [c.text for c in workbench.store.chunks(collection)]
        assert not Path(cached[0]).exists()  # used: no longer served from Gradio's cache
        assert httpx.get(f"{url}/gradio_api/file={cached[0]}").status_code in (403, 404)


def test_two_sessions_that_upload_the_same_eval_set_each_evaluate_it(workbench, tmp_path):
    same = tmp_path / "set.csv"
    same.write_text("question,answer,source\nWhat is the helpdesk extension?,4455,it.txt\n")
    with launched(workbench) as url:
        cached = [upload_raw(url, same) for _ in range(2)]  # both uploaded before either evaluates
        for path in cached:
            body = [None, file_data(path), ["base"], 1, "handbook", 3, 8, 0.0, "(none)", "(none)", False]
            event, data = raw_call(url, "evaluate", json.dumps({"data": body}), timeout=120)
            assert event == "complete" and "**set.csv**: 1/1 questions" in data[0], data


def test_no_client_can_ingest_a_folder_of_gradios_upload_cache(workbench, tmp_path):
    """Gradio accepts any path inside its upload cache as a file; a folder of it, or the cache itself, was read as
    every upload in it (other sessions' included)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("The victim's secret is 8812.")
    with launched(workbench) as url:
        cached = Path(upload_raw(url, victim))  # another session's upload, not yet ingested
        for folder in (cached.parent, cached.parent.parent):
            event, data = raw_call(url, "ingest", json.dumps({"data": [[file_data(str(folder))], "steal", 40, 5]}))
            assert event == "error" and "is not an uploaded file; upload files (or a .zip)" in data, data
        assert not any(name.endswith("--steal") for name in workbench.store.collections()) and cached.exists()


def test_a_used_upload_is_kept_unserved_until_its_time_then_deleted(tmp_path):
    from workbench.ui.uploads import UsedUploads, upload_folder

    now = [1000.0]
    uploads = UsedUploads(keep_s=60, root=tmp_path / "uploads", clock=lambda: now[0])
    cached = upload_folder() / f"test-{time.time_ns()}" / "notes.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("notes")
    first, second = uploads.take([str(cached)]), uploads.take(str(cached))  # the second after the first moved it
    assert not cached.exists() and Path(first[0]).read_text() == Path(second).read_text() == "notes"
    assert Path(first[0]).name == "notes.txt" and first[0] != second
    assert uploads.release(first) == 1 and not Path(first[0]).exists() and Path(second).exists()
    assert uploads.take("/etc/hostname") == "/etc/hostname"  # a path outside the cache is not Gradio's to move
    now[0] += 59
    assert uploads.sweep() == 0 and Path(uploads.take(str(cached))).read_text() == "notes"  # used again: 60 s more
    now[0] += 61
    assert uploads.sweep() == 1 and uploads.take(str(cached)) == str(cached)  # gone: reading it fails
    uploads.release(second)
    uploads.close()


def test_uploads_never_used_are_deleted_after_their_ttl(workbench, tmp_path):
    workbench.settings.upload_cache_ttl = 1
    left = tmp_path / "left.txt"
    left.write_text("uploaded and forgotten")
    with launched(workbench) as url:
        cached = Path(upload_raw(url, left))
        deadline = time.time() + 15
        while cached.exists() and time.time() < deadline:
            time.sleep(0.3)
        assert not cached.exists()


def test_the_file_route_serves_no_server_files(client, workbench):
    url = client.src.rstrip("/")
    data = workbench.settings.data_path
    targets = ["/etc/passwd", "%2Fetc%2Fpasswd", "../../../../etc/passwd", str(Path(__file__).resolve()),
               str(data / "chroma" / "chroma.sqlite3"), str(Path("workbench/engine.py").resolve())]
    for target in targets:
        assert httpx.get(f"{url}/gradio_api/file={target}").status_code in (403, 404), target


# --- parsers and a crowd of ingests ------------------------------------------------------------------------
def test_a_pathological_markdown_heading_ingests_at_once(client, tmp_path):
    from gradio_client import handle_file

    md = tmp_path / "heading.md"
    md.write_text("# a" + " " * 40_000 + "x\n\nBody text under the heading.\n")  # hours with the old regex
    started = time.perf_counter()
    report, _ = ingest(client, [handle_file(str(md))])
    assert report["files_ok"] == ["heading.md"] and time.perf_counter() - started < 30


def test_hostile_files_are_refused_by_the_parse_limits_and_others_proceed(workbench, tmp_path):
    from gradio_client import handle_file

    s = workbench.settings
    s.parse_timeout_s, s.parse_memory_bytes, s.max_document_chars = 3.0, 64 * 2**20, 20_000
    nested = tmp_path / "nested.html"
    nested.write_text("<div>" * 1_000_000 + "deep" + "</div>" * 1_000_000)
    huge = tmp_path / "huge.txt"
    huge.write_text("word " * 10_000)  # 50,000 characters on one line
    hungry = tmp_path / "hungry.txt"
    hungry.write_bytes(b"a" * (80 * 2**20))  # reading and decoding it needs more than 64 MB
    small = tmp_path / "small.txt"
    small.write_text("The helpdesk extension is 4455.")
    with launched(workbench) as url:
        a, b = client(url), client(url)
        job = a.submit([handle_file(str(nested)), handle_file(str(huge)), handle_file(str(hungry))], "hostile", 40,
                       5, api_name="/ingest")
        time.sleep(1.0)  # a's worker is busy with the nested HTML now
        started = time.perf_counter()
        report, _ = ingest(b, [handle_file(str(small))], "small")  # another session's ingest is not held
        answer = b.predict("helpdesk?", "base", api_name="/compare")
        assert report["files_ok"] == ["small.txt"] and answer["arms"][0]["error"] is None
        assert time.perf_counter() - started < 30
        failed = {f["file"]: f["error"] for f in job.result()[0]["files_failed"]}
        assert "parsing took longer than 3 s" in failed["nested.html"]
        assert "50,000 characters of text; the limit per file is 20,000" in failed["huge.txt"]
        assert "needs more memory to parse" in failed["hungry.txt"]
        a.close(), b.close()


def slow_rtf(path: Path, n: int = 20_000) -> Path:
    """A one-line .rtf that striprtf's font-table pattern reads in quadratic time (~10 s at n=20,000 here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{\\rtf1 {\\fonttbl" + "\\f1" * n + " x}")
    return path


def test_slow_uploads_cannot_make_a_small_one_wait(workbench, tmp_path):
    """Issue #26: two clients uploading three slow files each made a 27-byte upload wait 171 s."""
    from gradio_client import handle_file

    s = workbench.settings
    s.parse_timeout_s, s.upload_parse_s, s.small_upload_parse_s, s.ingest_waiting = 6.0, 7.0, 2.0, 0
    s.ingest_small_bytes = 16 * 1024
    # distinct files per session: Gradio caches identical uploads under one path, which the first ingest removes
    # n=60,000: ~90 s of parsing on an idle machine, so each file outlasts the 6 s limit however fast the CPU
    slow = {k: [handle_file(str(slow_rtf(tmp_path / k / f"slow{i}.rtf", 60_000 + 10 * j + i))) for i in range(3)]
            for j, k in enumerate("abd")}
    small = tmp_path / "small.txt"
    small.write_text("Extension 4455.")  # 15 bytes
    with launched(workbench) as url:
        a, b, c, d = (client(url) for _ in range(4))
        jobs = [x.submit(slow[k], "slow", 40, 5, api_name="/ingest") for k, x in (("a", a), ("b", b))]
        time.sleep(1.5)  # both ingest slots are parsing now
        with pytest.raises(Exception, match="2 uploads are being read .* try again in a minute"):
            d.predict(slow["d"], "more", 40, 5, api_name="/ingest")  # no room to wait: refused at once
        started = time.perf_counter()
        report, _ = ingest(c, [handle_file(str(small))], "small")
        waited = time.perf_counter() - started
        assert report["files_ok"] == ["small.txt"] and waited < 5, waited
        for job in jobs:  # each slow upload stopped once its 7 s were spent
            result = job.result()[0]
            failed = {f["file"]: f["error"] for f in result["files_failed"]}
            assert "parsing took longer than 6 s" in failed["slow0.rtf"]
            assert "parse time (7 s)" in failed["slow1.rtf"] and "parse time (7 s)" in failed["slow2.rtf"]
            assert result["parse_s"] < 9
        for x in (a, b, c, d):
            x.close()


def test_a_session_s_parse_time_is_bounded():
    from workbench.retrieval.admission import ParseBudget

    now = [0.0]
    budget = ParseBudget(10, window=60, clock=lambda: now[0])
    budget.spend("s1", 7)
    assert budget.check("s1") == 3 and budget.check("s2") == 10
    budget.spend("s1", 3)
    with pytest.raises(ValueError, match="used its 10 s of file parsing"):
        budget.check("s1")
    now[0] = 61
    assert budget.check("s1") == 10


def test_question_generation_runs_outside_the_server_under_a_time_limit(workbench, tmp_path, monkeypatch):
    """Issue #26: Generate questions ran in the server process (42 s for 1.5M characters, Compare at 9.3 s)."""
    import os

    from workbench.retrieval import parsing

    pids = []
    real = parsing.ParseWorker.call

    def call(self, fn, *args, timeout):
        pids.append(os.getpid())  # what runs in this process: only the hand-over
        return real(self, fn, *args, timeout=timeout)

    monkeypatch.setattr(parsing.ParseWorker, "call", call)
    with launched(workbench) as url:
        c = client(url)
        summary, files = c.predict("handbook", 0, 0.2, api_name="/generate_qa")
        assert "facts" in summary and len(files) == 2 and pids == [os.getpid()]
        workbench.settings.qa_timeout_s = 0.01  # a corpus that would take too long is stopped with a message
        started = time.perf_counter()
        with pytest.raises(Exception, match=r"generating questions took longer than 0.01 s and was stopped"):
            c.predict("handbook", 0, 0.2, api_name="/generate_qa")
        assert time.perf_counter() - started < 10
        assert c.predict("q?", "base", "", 0, 4, 0.0, api_name="/compare")["arms"][0]["error"] is None
        c.close()


# --- a crowd -------------------------------------------------------------------------------------------------
def test_a_full_queue_says_busy_try_again_and_answers_the_rest(workbench, monkeypatch):
    from gradio_client.exceptions import AppError  # noqa: F401 - the import documents what a refusal raises

    workbench.settings.queue_max_size = 1
    gate, inner = threading.Event(), workbench.compare

    def held(*args, **kwargs):
        gate.wait(30)
        return inner(*args, **kwargs)

    monkeypatch.setattr(workbench, "compare", held)
    with launched(workbench) as url:
        c = client(url)
        running = c.submit("q?", "base", "", 0, 4, 0.0, api_name="/compare")
        time.sleep(0.5)
        waiting = c.submit("q?", "base", "", 0, 4, 0.0, api_name="/compare")
        time.sleep(0.5)
        status, detail = raw_call(url, "compare", '{"data": ["q?", "base", "", 0, 4, 0, "", "", ""]}')
        # Gradio's queue_full: HTTP 503 with its message; the browser says "busy, try again"
        assert status == "http" and str(detail).startswith("503")
        with pytest.raises(Exception, match="(?i)queue is full.*try again"):
            c.predict("q?", "base", "", 0, 4, 0.0, api_name="/compare")
        gate.set()
        assert running.result()["arms"][0]["error"] is None and waiting.result()["arms"][0]["error"] is None
        c.close()


# --- long jobs beside comparisons -----------------------------------------------------------------------------
def test_a_compare_is_answered_at_every_stage_of_another_client_s_decide_run(workbench, monkeypatch, tmp_path):
    """Decide runs as a job outside the comparisons' queue: its questions take the model one batch at a time and
    its trainings (the speed probe's too) run in a worker process, so another client's Compare is answered
    meanwhile, about as fast as on the idle app, whatever stage the run is in."""
    import statistics

    from test_decide import FACTS

    import workbench.decide.plan as plan
    from workbench.retrieval.ingest import ingest as ingest_corpus

    for name, value in (("MAX_QA_REPEATS", 2), ("MAX_RAFT_EPOCHS", 1.0), ("MAX_TEST_QUESTIONS", 8)):
        monkeypatch.setattr(plan, name, value)  # a run of a minute on the tiny model
    (tmp_path / "company").mkdir()
    (tmp_path / "company" / "facts.txt").write_text("\n\n".join(FACTS) + "\n")
    ingest_corpus(workbench.store, "company", [tmp_path / "company"], workbench.settings.chunk_size,
                  workbench.settings.chunk_overlap)
    with launched(workbench) as url:
        decider, comparer = client(url), client(url)

        def compare() -> float:
            started = time.perf_counter()
            comparer.predict("What is the per diem for Lisbon?", "base", "", 0, 8, 0.0, api_name="/compare")
            return time.perf_counter() - started

        solo = statistics.median(compare() for _ in range(5))
        run = decider.submit("company", 30, 100, api_name="/decide")
        during: dict[str, list[float]] = {}  # stage -> Compare latencies while the run was in it
        while not run.done():
            stage = re.search(r"Stage \d+ of \d+: (\w+)", str(run.outputs()[-1][0]) if run.outputs() else "")
            if stage is None:
                time.sleep(0.05)
                continue
            latency = compare()
            if not run.done():  # answered while the run still went on
                during.setdefault(stage.group(1), []).append(latency)
        assert "finished" in run.result()[0]
    latencies = [t for ts in during.values() for t in ts]
    print(f"compare alone {solo:.2f} s; during Decide median {statistics.median(latencies):.2f} s, "
          f"slowest {max(latencies):.2f} s, by stage: " +
          ", ".join(f"{k} {len(v)}× {max(v):.2f} s" for k, v in during.items()))
    assert {"qa", "plan", "lora", "raft", "eval"} <= set(during)  # answered all through the run
    assert statistics.median(latencies) < 2 * solo + 0.2
    assert max(latencies) < 5.0  # at most a batch of the run's questions and a busy moment, never the run


# --- crashes -------------------------------------------------------------------------------------------------
CRASHING_INGEST = """
import os, sys
sys.path.insert(0, {tests!r})
from conftest import FakeEmbedder
from workbench.config import Settings
from workbench.retrieval import store as store_mod
from workbench.retrieval.ingest import ingest

class DiesMidway(FakeEmbedder):
    calls = 0
    def embed(self, texts):
        DiesMidway.calls += 1
        if DiesMidway.calls == 3:
            os._exit(9)  # as abrupt as kill -9: no cleanup, no exception handlers
        return super().embed(texts)

store_mod.ADD_BATCH = 2
settings = Settings(data_dir={data!r})
ingest(store_mod.VectorStore.open(settings, DiesMidway()), "crashy", [{docs!r}], 8, 0)
"""


def test_a_document_half_written_by_a_killed_ingest_is_repaired_by_the_next(workbench, tmp_path):
    import subprocess
    import sys

    from chromadb.api.shared_system_client import SharedSystemClient

    from workbench.engine import Workbench
    from workbench.retrieval.chunking import chunk_sections
    from workbench.retrieval.ingest import ingest as ingest_files
    from workbench.retrieval.loaders import load_file
    from workbench.retrieval.store import VectorStore

    docs = tmp_path / "crash-docs"
    docs.mkdir()
    (docs / "long.txt").write_text(" ".join(f"sentence {i} about the archive wing." for i in range(40)))
    data = str(workbench.settings.data_path)
    script = CRASHING_INGEST.format(tests=str(Path(__file__).parent), data=data, docs=str(docs))
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, timeout=120)
    assert done.returncode == 9

    SharedSystemClient.clear_system_cache()  # a restarted app: nothing cached in memory
    store = VectorStore.open(workbench.settings, workbench.store.embedder)
    partial = store.documents("crashy")["long.txt"]
    expected = len(chunk_sections(load_file(docs / "long.txt"), "long.txt", store.embedder.count_tokens, 8, 0))
    assert 0 < partial < expected  # the kill left the document half written
    report = ingest_files(store, "crashy", [docs], 8, 0)
    assert report.files_ok == ["long.txt"] and store.documents("crashy")["long.txt"] == expected
    restarted = Workbench(workbench.settings, workbench.model, workbench.tokenizer, store, model_id="tiny-llama")
    with launched(restarted) as url:
        c = client(url)
        rows = c.predict("crashy", api_name="/documents")[0]["data"]
        assert rows == [["long.txt", expected]]
        c.close()


def test_a_killed_training_leaves_nothing_that_blocks_its_name(workbench, tmp_path):
    from gradio_client import handle_file

    root = workbench.settings.data_path / "adapters"
    (root / ".train-again-x1b2" / ".trainer").mkdir(parents=True)  # what kill -9 leaves mid-training now
    (root / "again" / ".trainer").mkdir(parents=True)  # and what it left before trainings used a hidden folder
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"question": "What is the per diem?", "answer": "62 euro", "source": "travel.md"}) + "\n")
    with launched(workbench) as url:  # start-up clears the partial folders
        assert sorted(p.name for p in root.iterdir()) == []
        c = client(url)
        status = c.predict("(uploaded file)", handle_file(str(data)), "lora", "handbook", "again", 1, 1e-3, 1, 256, 4,
                           8, 0.0, 2, 0.8, api_name="/train")[0]
        assert "Saved adapter **again**" in status
        assert sorted(p.name for p in next(root.glob("sessions/*")).iterdir()) == ["again", "again.zip"]
        c.close()


def test_a_failed_training_writes_nothing_under_its_name(workbench, tmp_path):
    from workbench.training.jobs import train_adapter
    from workbench.training.trainer import TrainConfig

    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"question": "What is the per diem?", "answer": "62 euro", "source": "travel.md"}) + "\n")
    out = workbench.settings.data_path / "adapters" / "dies"
    seen = []

    def progress(event):
        seen.append(out.exists())
        raise SystemExit("killed")  # stands for the process dying mid-training

    with pytest.raises(SystemExit):
        train_adapter(workbench, data, TrainConfig(epochs=2, batch_size=1, r=4, alpha=8), out, progress=progress)
    assert seen == [False] and not out.exists() and not any(out.parent.iterdir())
    shutil.rmtree(out.parent)
