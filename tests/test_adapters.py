"""Adapter validation: pickle refused unopened, shapes, unknown modules, missing files, foreign base."""

import json

import pytest
import torch
from conftest import save_decide_run, save_random_adapter
from safetensors.torch import load_file, save_file

from workbench.adapters import AdapterError, list_adapters, validate
from workbench.engine import linear_shapes


@pytest.fixture()
def shapes(tiny_model):
    return linear_shapes(tiny_model)


@pytest.fixture()
def adapter(tiny_model, tmp_path):
    return save_random_adapter(tiny_model, tmp_path / "good")


def test_valid_adapter(adapter, shapes):
    info = validate(adapter, "tiny-llama", shapes)
    assert info.rank == 4 and sorted(info.target_modules) == ["q_proj", "v_proj"]


def test_pickle_adapter_is_refused_without_being_opened(adapter, shapes):
    (adapter / "adapter_model.safetensors").unlink()
    (adapter / "adapter_model.bin").write_bytes(b"not even a pickle: it must never be opened")
    with pytest.raises(AdapterError, match="adapter_model.bin is a pickle file, which can run arbitrary code"):
        validate(adapter, "tiny-llama", shapes)


def test_missing_files(adapter, shapes):
    (adapter / "adapter_config.json").unlink()
    with pytest.raises(AdapterError, match="adapter_config.json is missing"):
        validate(adapter, "tiny-llama", shapes)


def test_wrong_shapes_are_refused(tiny_tokenizer, tmp_path, shapes):
    from transformers import LlamaConfig, LlamaForCausalLM

    wider = LlamaForCausalLM(LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=96, intermediate_size=128,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2))
    folder = save_random_adapter(wider, tmp_path / "wide")
    with pytest.raises(AdapterError, match=r"has shape \[4, 96\], the base needs \[4, 64\]"):
        validate(folder, "tiny-llama", shapes)


def test_tensor_for_unknown_module_is_refused(adapter, shapes):
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    weights["base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight"] = torch.zeros(4, 64)
    save_file(weights, str(adapter / "adapter_model.safetensors"))
    with pytest.raises(AdapterError, match="layers.7.self_attn.q_proj.lora_A.weight maps to no module"):
        validate(adapter, "tiny-llama", shapes)


def test_unknown_target_module_is_refused(adapter, shapes):
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["target_modules"] = ["q_proj", "attn_qkv"]
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(AdapterError, match=r"target modules \['attn_qkv'\] do not exist"):
        validate(adapter, "tiny-llama", shapes)


def test_broken_safetensors_is_refused(adapter, shapes):
    (adapter / "adapter_model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(AdapterError, match="not a readable safetensors file"):
        validate(adapter, "tiny-llama", shapes)


def test_foreign_base(adapter, shapes):
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "google/gemma-3-270m"
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(AdapterError, match="trained for google/gemma-3-270m"):
        validate(adapter, "HuggingFaceTB/SmolLM2-135M-Instruct", shapes)
    assert validate(adapter, "HuggingFaceTB/SmolLM2-135M-Instruct", shapes, allow_foreign=True)


def test_a_user_adapter_never_shadows_a_shipped_one_and_shipped_names_are_reserved(tiny_model, tmp_path):
    from workbench.adapters import AdapterError, check_adapter_name, reserved_names

    save_random_adapter(tiny_model, tmp_path / "shipped" / "x")
    save_random_adapter(tiny_model, tmp_path / "user" / "x")  # e.g. left by an older version
    save_random_adapter(tiny_model, tmp_path / "user" / "y")
    dirs = [tmp_path / "shipped", tmp_path / "user", tmp_path / "absent"]
    assert list_adapters(dirs) == {"x": tmp_path / "shipped" / "x", "y": tmp_path / "user" / "y"}
    for name in ("x", "auto"):
        with pytest.raises(AdapterError, match="is reserved"):
            check_adapter_name(name, reserved_names(dirs))
    assert check_adapter_name("y", reserved_names(dirs)) == "y"


def test_a_session_s_adapters_are_listed_under_owned_names_and_seen_only_by_it(tiny_model, tmp_path):
    from workbench.adapters import adapter_folder, display_adapter, for_session, name_in_use, visible_to

    shipped, user = tmp_path / "shipped", tmp_path / "user"
    a, b = "a" * 24, "b" * 24
    save_random_adapter(tiny_model, shipped / "reader")
    save_random_adapter(tiny_model, user / "team")  # the shared library (the CLI's)
    save_random_adapter(tiny_model, adapter_folder(user, a, "mine"))
    save_random_adapter(tiny_model, adapter_folder(user, b, "mine"))  # the same name in another session
    names = list(list_adapters([shipped, user]))
    assert sorted(names) == sorted(["reader", "team", f"session--{a}--mine", f"session--{b}--mine"])
    assert visible_to(names, a) == ["reader", "team", f"session--{a}--mine"]
    assert visible_to(names, None) == ["reader", "team"]
    assert for_session("mine", names, a) == f"session--{a}--mine" and for_session("mine", names, None) == "mine"
    assert display_adapter(f"session--{a}--mine") == "mine"
    assert name_in_use(user, a, "team") and name_in_use(user, a, "mine") and not name_in_use(user, "c" * 24, "mine")
    with pytest.raises(AdapterError):
        adapter_folder(user, "../../etc", "x")


def test_a_session_s_adapters_go_when_its_corpora_do(tiny_model, tmp_path, store):
    from workbench.adapters import adapter_folder, remove_session_adapters, session_ids
    from workbench.retrieval.sessions import SessionCorpora

    now = [1000.0]
    manager = SessionCorpora(store, ttl=60, clock=lambda: now[0])
    manager.on_expire.append(lambda sid: remove_session_adapters(tmp_path, sid))
    gone, back = "a" * 24, "b" * 24
    for sid in (gone, back):
        save_random_adapter(tiny_model, adapter_folder(tmp_path, sid, "mine"))
        manager.end(sid)
    manager.touch(back)  # came back before the TTL: keeps its adapters
    now[0] += 61
    manager.sweep()
    assert session_ids(tmp_path) == [back]
    manager.close()


def test_a_session_s_decide_runs_go_when_its_corpora_do(tmp_path, store):
    """Decide runs on a session's corpus are private to it: when its corpora expire, the runs (their adapters
    detached from the model first) go too; another session's runs and runs on shared corpora stay."""
    import json

    from workbench.retrieval.sessions import SessionCorpora
    from workbench.ui.decide_runs import remove_session_runs, run_sessions

    gone, back, root, detached, now = "a" * 24, "b" * 24, tmp_path / "decide", [], [1000.0]
    for name, corpus in (("run-gone", f"session--{gone}--notes"), ("run-back", f"session--{back}--notes"),
                         ("run-shared", "handbook")):
        (root / name / "adapters").mkdir(parents=True)
        (root / name / "run.json").write_text(json.dumps({"corpus": corpus}))

    class Engine:
        def detach_adapters(self, folder):
            detached.append(folder.name)

    manager = SessionCorpora(store, ttl=60, clock=lambda: now[0])
    manager.on_expire.append(lambda sid: remove_session_runs(Engine(), root, sid))
    assert run_sessions(root) == {gone, back}  # what start-up schedules to expire
    for sid in (gone, back):
        manager.end(sid)
    manager.touch(back)  # came back before the TTL
    now[0] += 61
    manager.sweep()
    assert sorted(p.name for p in root.iterdir()) == ["run-back", "run-shared"] and detached == ["run-gone"]
    manager.close()


def test_a_deleted_session_s_adapters_leave_the_model_and_its_memory(workbench):
    from peft import PeftModel

    from workbench.adapters import adapter_folder, owned_name, session_folder

    root = workbench.settings.data_path / "adapters"
    gone, kept = "a" * 24, "b" * 24

    def weight_bytes():
        return sum(p.numel() * p.element_size() for p in workbench.model.parameters())

    def answer(adapter=None):
        arm = "lora" if adapter else "base"
        return workbench.compare("What is the per diem?", arm, lora_adapter=adapter).arms[0].answer

    bare, base_answer = weight_bytes(), answer()
    for sid, name, seed in ((gone, "mine", 1), (gone, "also", 2), (kept, "mine", 3)):
        save_random_adapter(workbench.model, adapter_folder(root, sid, name), seed=seed)
    theirs = answer(owned_name(kept, "mine"))
    answer(owned_name(gone, "mine")), answer(owned_name(gone, "also"))
    assert len(workbench.attached_adapters) == 3
    one = (weight_bytes() - bare) // 3

    dropped = workbench.detach_adapters(session_folder(root, gone))
    assert len(dropped) == 2 and not set(dropped) & set(workbench.model.peft_config)
    assert list(workbench.model.peft_config) == list(workbench.attached_adapters.values())  # the other session's
    assert weight_bytes() == bare + one
    assert answer(owned_name(kept, "mine")) == theirs  # still served, same weights

    assert len(workbench.detach_adapters(session_folder(root, kept))) == 1
    assert not isinstance(workbench.model, PeftModel) and workbench.attached_adapters == {}
    assert weight_bytes() == bare and answer() == base_answer  # the bare base, nothing merged into it
    assert workbench.detach_adapters(session_folder(root, kept)) == []


def test_a_deleted_session_s_adapters_are_unloaded_from_the_generation_server(settings, tiny_model, tiny_tokenizer,
                                                                             store, docs):
    from test_backend_openai import FakeVLLM, server_workbench

    from workbench.adapters import adapter_folder, owned_name, session_folder

    served, sid = FakeVLLM(), "c" * 24
    try:
        root = settings.data_path / "adapters"
        save_random_adapter(tiny_model, adapter_folder(root, sid, "mine"))
        wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url)
        name = owned_name(sid, "mine")
        assert wb.compare("q?", "lora", lora_adapter=name).arms[0].answer == f"answer from {name}"
        assert wb.detach_adapters(session_folder(root, sid)) == [name]
        assert served.posts[-1] == ("/v1/unload_lora_adapter", {"lora_name": name}) and name not in served.adapters
        assert wb.detach_adapters(session_folder(root, sid)) == []
    finally:
        served.close()


def test_decide_runs_adapters_are_listed_under_their_corpus_and_run(tiny_model, tmp_path):
    from workbench.adapters import auto_adapter, decide_adapters, find_adapter, served_name, visible_to

    user, runs = tmp_path / "adapters", tmp_path / "decide"
    save_random_adapter(tiny_model, user / "reader")
    older = save_decide_run(tiny_model, runs, "20260101-090000-harbor", "harbor")
    newer = save_decide_run(tiny_model, runs, "20260102-090000-harbor", "harbor",
                            kept={"raft": str(user / "reader")})  # its raft stage kept the reader
    sid = "a" * 24
    save_decide_run(tiny_model, runs, "20260103-090000-mine", f"session--{sid}--mine", methods=("lora",))
    (runs / "broken").mkdir()
    (runs / "broken" / "run.json").write_text("{not json")

    assert decide_adapters(runs) == {"harbor-lora@20260101-090000": older / "adapters" / "lora",
                                     "harbor-raft@20260101-090000": older / "adapters" / "raft",
                                     "harbor-lora@20260102-090000": newer / "adapters" / "lora",
                                     f"session--{sid}--mine-lora@20260103-090000": runs / "20260103-090000-mine" /
                                     "adapters" / "lora"}
    names = list(list_adapters([tmp_path / "shipped", user]))  # Decide's runs: beside the user adapter folder
    assert visible_to(names, None) == ["reader", "harbor-lora@20260101-090000", "harbor-raft@20260101-090000",
                                       "harbor-lora@20260102-090000"]  # another session's corpus: not listed
    assert auto_adapter("lora", "harbor", names) == "harbor-lora@20260102-090000"  # the latest run's
    assert auto_adapter("raft", "harbor", names) == "harbor-raft@20260101-090000"
    assert auto_adapter("raft", "other", names) == "reader"
    assert find_adapter("harbor-lora@20260102-090000", [tmp_path / "shipped", user], allow_paths=False) == (
        newer / "adapters" / "lora")
    # every run's folder is called lora: a generation server gets each under its listed name
    assert served_name(newer / "adapters" / "lora") == "harbor-lora@20260102-090000"


def test_an_adapter_says_which_corpus_it_was_trained_on(tiny_model, tmp_path):
    from workbench.adapters import trained_on

    card = save_random_adapter(tiny_model, tmp_path / "mine")
    (card / "README.md").write_text("# mine\n- Training data: `upload.jsonl` (9 examples)\n- Method: **raft** — each "
                                    "prompt is the rag arm's prompt with 3 passages from corpus "
                                    "`session--ab12cd34--harbor`; ...\n")
    assert trained_on("mine", card, []) == "session--ab12cd34--harbor"
    (card / "README.md").write_text("- Training data: `corpora/handbook/qa/train.jsonl` (114 examples)\n"
                                    "- Method: **lora** — closed-book\n")
    assert trained_on("mine", card, []) == "handbook"
    assert trained_on("harbor-lora", None, ["harbor"]) == "harbor"  # no card: its name, for a corpus that exists
    assert trained_on("harbor-lora@20260101-090000", None, ["harbor"]) == "harbor"
    assert trained_on("team-lora", None, ["harbor"]) == "" and trained_on("reader", None, ["harbor"]) == ""
