"""Eval sets: the shipped ones load, good files parse, malformed ones are refused with the line and the reason."""

import json

import pytest

from workbench.config import REPO_ROOT
from workbench.evaluation.datasets import EvalDataError, load_eval_set, shipped_eval_sets


def test_shipped_sets_load_with_their_corpus():
    sets = shipped_eval_sets()
    assert {"handbook/test", "pubmedqa-sample/test"} <= set(sets)

    handbook = load_eval_set(sets["handbook/test"])
    assert handbook.name == "handbook/test" and handbook.corpus == "handbook" and len(handbook.items) == 65
    assert all(i.type == "short" and i.source for i in handbook.items)

    pubmed = load_eval_set(sets["pubmedqa-sample/test"])
    assert pubmed.corpus == "pubmedqa-sample" and len(pubmed.items) == 100
    assert set(pubmed.labels) == {"yes", "no", "maybe"} and all(i.type == "label" for i in pubmed.items)
    docs = REPO_ROOT / "corpora" / "pubmedqa-sample" / "docs"
    assert all((docs / i.source).is_file() for i in pubmed.items)  # hit@k can find every answer's document
    assert (docs.parent / "LICENSE").is_file() and (docs.parent / "README.md").is_file()


def test_jsonl_and_csv_with_lists_of_answers(tmp_path):
    jsonl = tmp_path / "set.jsonl"
    jsonl.write_text(json.dumps({"question": "Cap?", "answer": ["140 euro", "€140"], "source": "travel.md"}) + "\n\n"
                     + json.dumps({"id": "q2", "question": "Year?", "answer": 2024}) + "\n")
    items = load_eval_set(jsonl).items
    assert items[0].answers == ["140 euro", "€140"] and items[0].source == "travel.md" and items[0].id == "1"
    assert items[1].answers == ["2024"] and items[1].id == "q2" and items[1].source is None

    csv_file = tmp_path / "set.csv"
    csv_file.write_text('\ufeffquestion,answer,type\n"Is it, really?","[""yes""]",label\nHow long?,six months,\n')
    items = load_eval_set(csv_file).items
    assert [(i.question, i.answers, i.type) for i in items] == [("Is it, really?", ["yes"], "label"),
                                                                  ("How long?", ["six months"], "short")]


@pytest.mark.parametrize("name, text, message", [
    ("empty.jsonl", "\n  \n", "empty.jsonl: the file is empty"),
    ("bad.jsonl", '{"question": "a?", "answer": "b"}\n{"question": "c?", "answer": "d"\n', "bad.jsonl line 2: not valid JSON"),
    ("noanswer.jsonl", '{"question": "a?", "answer": "b"}\n\n{"question": "c?"}\n', "noanswer.jsonl line 3: missing 'answer'"),
    ("list.jsonl", '["a?", "b"]\n', "list.jsonl line 1: expected an object"),
    ("type.jsonl", '{"question": "a?", "answer": "b", "type": "essay"}\n', "type.jsonl line 1: type 'essay' is not one of"),
    ("blank.jsonl", '{"question": "a?", "answer": ["b", ""]}\n', "blank.jsonl line 1: 'answer' must be a non-empty"),
    ("header.csv", "question,reply\na?,b\n", "header.csv line 1: the header has no 'answer' column (found: question, reply)"),
    ("cells.csv", "question,answer\na?,b\nc?,d,e\n", "cells.csv line 3: more cells than the 2 header columns"),
    ("missing.csv", "question,answer\na?,b\n,d\n", "missing.csv line 3: missing 'question'"),
    ("set.txt", "question,answer\n", "set.txt: unsupported file type '.txt'"),
])
def test_malformed_files_are_refused_with_line_and_reason(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(EvalDataError) as info:
        load_eval_set(path)
    assert str(info.value).startswith(message)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(EvalDataError, match="no eval file"):
        load_eval_set(tmp_path / "nope.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(EvalDataError, match="not UTF-8"):
        load_eval_set(tmp_path / "bin.jsonl")
