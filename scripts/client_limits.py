"""What one client can do to the shared app by uploading what others upload or by opening new sessions: one git
revision beside another.

    python scripts/client_limits.py [--before main] [--after WORKTREE] [--only uploads|sessions|adapters]

Each side runs in its own process on the tiny test workbench (tests/conftest.py: a random 2-layer model and a fake
embedder), driven over HTTP and gradio_client like a browser, with the same settings on both sides (settings a
revision lacks are left out there):

- uploads: `--trials` times, three browsers upload the same file (Gradio stores it once, under a hash of its bytes);
  two ingest it at once and the third after them. Printed: the ingests that stored it, of all.
- sessions: one client address opens 8 sessions, four times, each time in a fresh app: each session ingests a
  slow .rtf twice (1 s parse limit per file; 2 s of parsing per session an hour, 4 s per client); or asks twice
  and votes on each answer (10 votes a minute per session, 5 per client); or ingests 3 new corpora (3 per
  session, 6 per client); or uploads 2 adapters (2 per session, 4 per client). Printed: what the client got.
- adapters: 6 sessions each upload an adapter and ask with it, then close; once their session time is up (0.5 s)
  and their folders are gone, printed: the adapters still on the app's model and their weights.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from before_after import ROOT, export, run_scenario  # noqa: E402

SCENARIO = r"""
import dataclasses, json, os, sys, tempfile, threading, time
os.environ["GRADIO_HEARTBEAT_INTERVAL"] = "0.2"  # a closed client is noticed quickly
os.environ["FORWARDED_ALLOW_IPS"] = "192.0.2.1"  # as behind a proxy elsewhere: every client here is 127.0.0.1
from pathlib import Path
sys.path.insert(0, "tests")
import httpx
from conftest import FakeEmbedder, make_tiny_model, make_tokenizer, save_random_adapter
from gradio_client import Client, handle_file
from workbench import adapters as adapter_lib
from workbench.config import Settings
from workbench.engine import Workbench
from workbench.retrieval.ingest import ingest
from workbench.retrieval.store import VectorStore
from workbench.ui import build_app

which, trials = sys.argv[1], int(sys.argv[2])
SESSION_PARTS = ("parse_s", "votes", "corpora", "adapters_held")
tmp = Path(tempfile.mkdtemp())
LIMITS = dict(parse_timeout_s=1.0, session_parse_s=2.0, client_parse_s=4.0, client_votes_per_minute=5,
              session_corpora=3, client_corpora=6, session_adapters=2, client_adapters=4,
              session_corpus_ttl=0.5 if which == "adapters" else 3600.0)
known = {f.name for f in dataclasses.fields(Settings)}
chosen = LIMITS if which in SESSION_PARTS else {"session_corpus_ttl": LIMITS["session_corpus_ttl"]}
settings = Settings(data_dir=str(tmp / "data"), lora_adapter="", raft_adapter="", max_new_tokens=8, chunk_size=40,
                    chunk_overlap=5, **{k: v for k, v in chosen.items() if k in known})
tokenizer = make_tokenizer()
store = VectorStore.open(settings, FakeEmbedder())
(tmp / "handbook").mkdir()
(tmp / "handbook" / "leave.md").write_text("# Leave\nProbation lasts six months. Annual leave is 25 days.\n")
ingest(store, "handbook", [tmp / "handbook"], 40, 5)
wb = Workbench(settings, make_tiny_model(tokenizer), tokenizer, store, model_id="tiny-llama")
demo = build_app(settings, wb)
_, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
url = url.rstrip("/")


def upload(path):
    response = httpx.post(f"{url}/gradio_api/upload", files={"files": (path.name, path.read_bytes())}, timeout=60)
    response.raise_for_status()
    return response.json()[0]


def ingest_raw(path, name):
    body = {"data": [[{"path": path, "meta": {"_type": "gradio.FileData"}}], name, 40, 5]}
    with httpx.Client(base_url=url, timeout=120) as http:
        posted = http.post("/gradio_api/call/ingest", json=body)
        if posted.status_code != 200:
            return "http", [{"files_ok": [], "files_failed": [{"error": f"HTTP {posted.status_code}: {posted.text}"}]}]
        event_id = posted.json()["event_id"]
        event = None
        with http.stream("GET", f"/gradio_api/call/ingest/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return event, json.loads(line.split(":", 1)[1])


def attempt(call):
    try:
        return call()
    except Exception as exc:
        return exc


out = {}
if which == "uploads":
    stored, errors = 0, set()
    for t in range(trials):
        same = tmp / f"same{t}.txt"
        same.write_text(f"Trial {t}: the shared parking code is {5500 + t}.")
        cached = [upload(same) for _ in range(3)]
        results = {}
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, ingest_raw(cached[i], f"copy{i}")))
                   for i in (0, 1)]
        [th.start() for th in threads]
        [th.join() for th in threads]
        results[2] = ingest_raw(cached[2], "copy2")
        for event, data in results.values():
            ok = event == "complete" and data[0]["files_ok"] == [same.name]
            stored += ok
            if not ok:
                errors.add(str(data[0]["files_failed"][0]["error"] if event in ("complete", "http") else data)[:80])
    out = {"stored": stored, "ingests": 3 * trials, "errors": sorted(errors)}
elif which in SESSION_PARTS:  # one client address, 8 sessions, each part in its own app
    slow = tmp / "slow.rtf"
    slow.write_text("{\\rtf1 {\\fonttbl" + "\\f1" * 20_000 + " x}")
    doc = tmp / "doc.txt"
    doc.write_text("The parking code is 5521.")
    folder = save_random_adapter(wb.model, tmp / "adapter")
    adapter_files = [str(folder / n) for n in ("adapter_config.json", "adapter_model.safetensors")]
    got_parse, votes, corpora, adapters, clients = 0.0, 0, 0, 0, []
    for k in range(8):
        c = Client(url, verbose=False)
        clients.append(c)  # kept open: what its sessions hold counts
        for j in range(2 if which != "corpora" else 3):
            if which == "parse_s":
                got = attempt(lambda: c.predict([handle_file(str(slow))], "slow", 40, 5, api_name="/ingest"))
                got_parse += got[0].get("parse_s", 0.0) if isinstance(got, (list, tuple)) else 0.0
            elif which == "votes":
                q = f"Question {k}.{j}?"
                answers = list(c.predict(q, "handbook", 3, 8, 0.0, "", "(none)", "(none)",
                                         api_name="/compare_stream")[0::4])
                votes += str(c.predict(q, *answers, api_name="/vote_rag")[1]).startswith("✓")
            elif which == "corpora":
                got = attempt(lambda: c.predict([handle_file(str(doc))], f"corpus{j}", 40, 5, api_name="/ingest"))
                corpora += isinstance(got, (list, tuple)) and got[0]["files_ok"] == ["doc.txt"]
            else:
                got = attempt(lambda: c.predict([handle_file(p) for p in adapter_files], f"mine{j}", False,
                                                api_name="/upload_adapter"))
                adapters += isinstance(got, str) and "Installed" in got
    for c in clients:
        c.close()
    out = {"parse_s": round(got_parse, 1), "votes": votes, "corpora": corpora, "adapters": adapters}
elif which == "adapters":
    root = settings.data_path / "adapters"
    folders = [save_random_adapter(wb.model, tmp / f"adapter{k}", seed=k + 1) for k in range(6)]  # on the bare base
    clients = []
    for folder in folders:
        c = Client(url, verbose=False)
        files = [handle_file(str(folder / n)) for n in ("adapter_config.json", "adapter_model.safetensors")]
        c.predict(files, "mine", False, api_name="/upload_adapter")
        c.predict("q?", "lora", "", 0, 4, 0.0, "", "mine", "", api_name="/compare")
        clients.append(c)
    while_open = len(getattr(wb.model, "peft_config", {}))
    for c in clients:
        c.close()
    deadline = time.time() + 60
    while adapter_lib.session_ids(root) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    lora = sum(p.numel() * p.element_size() for n, p in wb.model.named_parameters() if "lora_" in n)
    out = {"while_open": while_open, "left_on_model": len(getattr(wb.model, "peft_config", {})),
           "lora_kib": round(lora / 1024, 1), "folders_left": len(adapter_lib.session_ids(root))}
print(json.dumps(out))
demo.close()
"""

PARTS = {"sessions": {"parse_s": "parse_s", "votes": "votes", "corpora": "corpora", "adapters_held": "adapters"}}
"""Scenarios run as several parts, each in its own app: part -> the figure it gives."""
ROWS = {
    "uploads": [("stored", "ingests that stored the file"), ("ingests", "ingests"), ("errors", "errors")],
    "sessions": [("parse_s", "parse seconds it got"), ("votes", "votes counted (of 16)"),
                 ("corpora", "corpora it made (of 24)"), ("adapters", "adapters it installed (of 16)")],
    "adapters": [("while_open", "adapters on the model, sessions open"),
                 ("left_on_model", "adapters on the model, sessions gone"),
                 ("lora_kib", "their weights (KiB)"), ("folders_left", "their folders left")],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git revision")
    parser.add_argument("--after", default=str(ROOT), help="folder")
    parser.add_argument("--only", choices=list(ROWS), help="one scenario (default: all)")
    parser.add_argument("--trials", type=int, default=5, help="uploads: how many files")
    args = parser.parse_args()
    before_root = export(args.before)
    for which in [args.only] if args.only else list(ROWS):
        before, after = {}, {}
        for part, key in PARTS.get(which, {which: None}).items():  # each in a fresh app: no limit hides another
            for side, root in ((before, before_root), (after, Path(args.after))):
                got = run_scenario(root, SCENARIO, [part, str(args.trials)], timeout=1800)
                side.update({key: got[key]} if key else got)
        print(f"\n{which:44}{'before (' + args.before + ')':>24}{'after':>24}")
        for key, label in ROWS[which]:
            print(f"{label:44}{str(before.get(key)):>24}{str(after.get(key)):>24}")


if __name__ == "__main__":
    main()
