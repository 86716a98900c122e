"""The Train tab and adapter upload, through gradio_client on the tiny workbench."""

import json
import shutil

import pytest
from conftest import save_random_adapter

pytestmark = pytest.mark.ui


def owned(workbench, name: str):
    """The folder of the adapter `name` that the test client's session uploaded or trained (adapters.adapter_folder)."""
    return next((workbench.settings.data_path / "adapters").glob(f"sessions/*/{name}"), None)


def test_train_in_the_app_then_use_the_adapter(client, workbench, tmp_path):
    from gradio_client import handle_file

    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"question": "What is the per diem for Lisbon?", "answer": "62 euro",
                                "source": "travel.md"}) + "\n")
    status, plot, archive = client.predict(
        "(uploaded file)", handle_file(str(data)), "raft", "handbook", "ui-raft", 2, 1e-3, 1, 512, 4, 8, 0.0, 2, 0.8,
        api_name="/train")
    assert "Saved adapter **ui-raft**: 2 steps" in status
    assert plot["columns"] == ["step", "loss"] and [row[0] for row in plot["data"]] == [1, 2]  # the live loss plot
    assert archive.endswith("ui-raft.zip")
    assert (owned(workbench, "ui-raft") / "adapter_model.safetensors").is_file()
    out = client.predict("What is the per diem for Lisbon?", "raft", "", 0, 4, 0.0, "", "", "ui-raft",
                         api_name="/compare")
    assert out["arms"][0]["error"] is None and out["arms"][0]["adapter"].endswith("--ui-raft")


def test_a_client_that_goes_away_stops_its_training(client, workbench):
    """Like Cancel: a job cancelled by its API client (or a closed page) stops at the next step and saves nothing."""
    import threading
    import time

    def training() -> bool:
        return any(t.name == "train left" for t in threading.enumerate())

    job = client.submit("handbook train split", None, "lora", "handbook", "left", 50, 1e-3, 1, 512, 4, 8, 0.0, 2,
                        0.8, api_name="/train")
    deadline = time.time() + 60
    while not any(str(out[0]).startswith("Step") for out in job.outputs()) and time.time() < deadline:
        time.sleep(0.05)
    assert training() and job.cancel()
    deadline = time.time() + 10
    while training() and time.time() < deadline:
        time.sleep(0.1)
    assert not training() and owned(workbench, "left") is None


def test_train_refuses_an_existing_name(client, workbench):
    save_random_adapter(workbench.model, workbench.settings.data_path / "adapters" / "taken")
    with pytest.raises(Exception, match="already exists"):
        client.predict("handbook train split", None, "lora", "handbook", "taken", 1, 1e-3, 1, 512, 4, 8, 0.0, 2, 0.8,
                       api_name="/train")


def test_no_client_can_take_a_shipped_adapter_s_name(client, workbench, tmp_path):
    from gradio_client import handle_file

    folder = save_random_adapter(workbench.model, tmp_path / "src")
    files = [handle_file(str(folder / n)) for n in ("adapter_config.json", "adapter_model.safetensors")]
    with pytest.raises(Exception, match="'handbook-raft' is reserved"):
        client.predict(files, "handbook-raft", False, api_name="/upload_adapter")
    with pytest.raises(Exception, match="'handbook-lora' is reserved"):
        client.predict("handbook train split", None, "lora", "handbook", "handbook-lora", 1, 1e-3, 1, 512, 4, 8, 0.0,
                       2, 0.8, api_name="/train")
    assert not list((workbench.settings.data_path / "adapters").rglob("handbook-raft"))


def test_upload_zip_then_refusals(client, workbench, tmp_path):
    from gradio_client import handle_file

    folder = save_random_adapter(workbench.model, tmp_path / "src")
    archive = shutil.make_archive(str(tmp_path / "adapter"), "zip", root_dir=folder)
    assert "Installed adapter **team**" in client.predict([handle_file(archive)], "team", False, api_name="/upload_adapter")
    assert (owned(workbench, "team") / "adapter_config.json").is_file()

    pickle = tmp_path / "adapter_model.bin"
    pickle.write_bytes(b"\x80\x04 never unpickled")
    with pytest.raises(Exception, match="pickle file, which can run arbitrary code"):
        client.predict([handle_file(str(folder / "adapter_config.json")), handle_file(str(pickle))], "evil", False,
                       api_name="/upload_adapter")
    foreign = save_random_adapter(workbench.model, tmp_path / "foreign", base_model_id="google/gemma-3-270m")
    files = [handle_file(str(foreign / n)) for n in ("adapter_config.json", "adapter_model.safetensors")]
    with pytest.raises(Exception, match="trained for google/gemma-3-270m"):
        client.predict(files, "gem", False, api_name="/upload_adapter")
    assert "Installed adapter **gem**" in client.predict(files, "gem", True, api_name="/upload_adapter")
    # 'load anyway' is remembered: the lora column can use it
    out = client.predict("q?", "lora", "", 0, 2, 0.0, "", "gem", "", api_name="/compare")
    assert out["arms"][0]["error"] is None
    names = sorted(p.name for p in owned(workbench, "team").parent.iterdir())
    assert names == ["gem", "team"]  # refused uploads left nothing behind


def test_train_handlers_say_what_is_missing_before_a_run(workbench, tmp_path):
    """The Train tab's handlers without an app: what a person sees for missing or bad input."""
    import gradio as gr

    from workbench.jobs import Jobs
    from workbench.ui import train as tab

    assert tab.estimate(workbench, {}, tab.UPLOADED, None, "lora", 3, 4) == \
        "Upload a training file, or choose a shipped training set."
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n")
    assert tab.estimate(workbench, {}, tab.UPLOADED, str(broken), "lora", 3, 4).startswith("⚠️ ")
    data, upload, method, corpus, name, *rest = tab.validate(workbench, tab.UPLOADED, None, "raft", "", "a b", 1, 2)
    assert upload == gr.validate(False, "upload a training file, or choose a shipped training set above")
    assert corpus == gr.validate(False, "choose a corpus: raft takes its passages from it (or choose the lora "
                                        "method, which needs none)")
    assert not name["is_valid"] and data == method == rest[0] == gr.validate(True, "")
    _, _, _, corpus, _, *_ = tab.validate(workbench, tab.UPLOADED, "qa.jsonl", "knowledge", "nowhere", "ok-name")
    assert corpus == gr.validate(False, "corpus 'nowhere' has no documents; add some in the Corpora tab")

    form = ["", tab.UPLOADED, None, "lora", "handbook", "mine", 2, 1e-3, 1, 512, 4, 8, 0.0, 2, 0.8, None]
    with pytest.raises(gr.Error) as refused:
        next(tab.run(workbench, None, Jobs(), {}, *form))
    assert refused.value.message == "upload a training file, or choose a shipped training set"
    form[2], form[6] = str(broken), 0  # zero epochs
    with pytest.raises(gr.Error) as refused:
        next(tab.run(workbench, None, Jobs(), {}, *form))
    assert refused.value.message == "epochs must be between 0.01 and 100, got 0"
    with pytest.raises(gr.Error, match="no files were uploaded"):
        tab.install(workbench, None, [], "mine", False, None)
