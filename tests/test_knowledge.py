"""The knowledge recipe's data: documents shuffled, facts restated, Q/A first; and a run trained in that order."""

import random

import pytest

from workbench.qa.nlp import pipeline
from workbench.results import Passage
from workbench.training.knowledge import KnowledgeItem, KnowledgeMix, knowledge_examples
from workbench.training.restate import fact_statements, restatements, shuffled_text, text_units
from workbench.training.trainer import TrainConfig, train

CHUNK = ("The Ten-Tide carnet costs £52. Children under five travel free. Bicycles cost £3 each way.\n\n"
         "| ticket | price |\n| single | £4.20 |\n\n- Lost property is kept for 30 days.\n- Dogs travel free.")


def test_a_chunk_is_cut_into_sentences_and_whole_table_rows_and_list_items():
    units = text_units(CHUNK)
    assert units[:3] == ["The Ten-Tide carnet costs £52.", "Children under five travel free.",
                         "Bicycles cost £3 each way."]
    assert "| single | £4.20 |" in units and "- Lost property is kept for 30 days." in units


def test_a_shuffled_chunk_keeps_every_unit_in_a_new_order():
    text = shuffled_text(CHUNK, random.Random(1))
    assert sorted(text.splitlines()) == sorted(text_units(CHUNK))
    assert text.splitlines() != text_units(CHUNK)
    assert shuffled_text("One sentence only.", random.Random(1)) == "One sentence only."


@pytest.mark.parametrize("sentence, answer, turned", [
    ("The Ten-Tide carnet costs £52.", "£52", "£52 is what the Ten-Tide carnet costs."),
    ("The standard probation period is six months.", "six months",
     "Six months is what the standard probation period is."),
    ("Laptops are refreshed every 42 months.", "42 months", "Every 42 months, laptops are refreshed."),
    ("The observatory is run by the Brannock Astronomical Society.", "Brannock Astronomical Society",
     "The Brannock Astronomical Society is what the observatory is run by."),
])
def test_a_fact_is_restated_under_its_title_and_turned_around_its_answer(sentence, answer, turned):
    assert restatements(sentence, answer, "fares", pipeline()) == [f"fares: {sentence}", turned]


def test_a_sentence_the_parse_cannot_turn_is_only_restated_on_its_own():
    # The answer is the subject: no clean turn, so no broken one either.
    sentence = "Brannock Astronomical Society runs the observatory."
    assert restatements(sentence, "Brannock Astronomical Society", "", pipeline()) == [sentence]


def test_every_sentence_is_restated_once_and_each_answer_turned():
    class F:
        def __init__(self, sentence, answer):
            self.sentence, self.answer, self.source = sentence, answer, "docs/fares-and-passes.md"

    facts = [F("The Ten-Tide carnet costs £52.", "£52"), F("The Ten-Tide carnet costs £52.", "Ten-Tide carnet")]
    out = fact_statements(facts, pipeline())
    assert out[0] == "fares and passes: The Ten-Tide carnet costs £52." and out.count(out[0]) == 1
    assert "£52 is what the Ten-Tide carnet costs." in out


def _mix_examples(tokenizer, **mix):
    items = [KnowledgeItem("£52", ["How much is the carnet?", "What does a carnet cost?"], "fares.md"),
             KnowledgeItem("30 days", ["How long is lost property kept?"], "fares.md")]
    chunks = [Passage(CHUNK, "fares.md", 1.0, "c1"), Passage("Dogs travel free. Cats too.", "pets.md", 1.0, "c2")]
    return knowledge_examples(tokenizer, items, chunks, "Answer briefly.", KnowledgeMix(**mix),
                              ["fares: The Ten-Tide carnet costs £52."])


def _is_qa(example) -> bool:
    return any(not trained for _, trained in example.segments) or "carnet?" in example.segments[0][0]


def test_the_mix_has_each_ingredient_as_often_as_asked(tiny_tokenizer):
    plain = _mix_examples(tiny_tokenizer, qa_repeats=2, per_conversation=1)
    assert len(plain) == 2 + 2 * 3  # documents once, three phrasings twice, no restatements without repeats
    rich = _mix_examples(tiny_tokenizer, qa_repeats=2, per_conversation=1, doc_repeats=3, shuffle_sentences=True,
                         statement_repeats=2)
    texts = [e.segments[0][0] for e in rich]
    assert sum(t.startswith("fares: The Ten-Tide") for t in texts) == 2
    assert sum(t.startswith("fares\n\n") for t in texts) == 3  # the document three times, two of them shuffled
    assert len({t for t in texts if t.startswith("fares\n\n")}) >= 2


def test_qa_first_puts_one_pass_of_every_question_before_any_document(tiny_tokenizer):
    examples = _mix_examples(tiny_tokenizer, qa_repeats=3, per_conversation=1, qa_first=True)
    assert all(_is_qa(e) for e in examples[:3]) and len(examples) == 2 + 3 * 3


def test_keep_order_trains_the_examples_in_the_order_given(tiny_model, tiny_tokenizer, tmp_path, monkeypatch):
    import transformers

    seen = []
    original = transformers.Trainer._get_train_sampler

    def spy(self, *a, **kw):
        sampler = original(self, *a, **kw)
        seen.append(type(sampler).__name__)
        return sampler

    monkeypatch.setattr(transformers.Trainer, "_get_train_sampler", spy)
    examples = _mix_examples(tiny_tokenizer, qa_repeats=1, per_conversation=1, qa_first=True)
    train(tiny_model, tiny_tokenizer, examples, TrainConfig(epochs=1, batch_size=2, r=4, alpha=8, keep_order=True),
          tmp_path / "a", "tiny-llama")
    assert seen == ["SequentialSampler"]


def test_question_noise_leaves_out_words_but_keeps_the_question_words_and_the_end():
    """`noisy` drops about the share asked of the other words; the mix keeps its first Q/A pass whole."""
    import random

    from workbench.training.knowledge import noisy

    question = "Under Membership types, how much does a rider membership cost for students and apprentices?"
    rng = random.Random(0)
    variants = [noisy(question, 0.5, rng) for _ in range(20)]
    assert all(v.lower().split()[-3:] == question.lower().split()[-3:] and "how much" in v.lower() for v in variants)
    assert len(set(variants)) > 5 and all(len(v.split()) < len(question.split()) for v in variants[:5])
    assert noisy(question, 0.0, rng) == question


def test_the_first_qa_pass_is_whole_and_later_passes_are_noisy(tiny_tokenizer):
    examples = _mix_examples(tiny_tokenizer, qa_repeats=6, per_conversation=1, question_noise=0.9)
    asked = [e.segments[0][0] for e in examples if _is_qa(e)]
    assert sum("How much is the carnet?" in a for a in asked) >= 1
    assert any("What does a carnet cost?" not in a and "How much is the carnet?" not in a
               and "How long is lost property kept?" not in a for a in asked)


def test_a_facts_aliased_questions_take_turns_with_its_first_question_after_the_first_pass(tiny_tokenizer):
    """Pass 1 asks the first question; passes 2, 3, 4 ask alias 1, alias 2, the first question: no extra
    examples."""
    items = [KnowledgeItem("36 cars", ["How many cars is MV Marram Queen certified for?"], "fleet.md",
                           ["How many cars is the flagship certified for?",
                            "How many cars is the largest vessel certified for?"])]
    examples = knowledge_examples(tiny_tokenizer, items, [], "Answer briefly.",
                                  KnowledgeMix(qa_repeats=4, per_conversation=1))
    asked = sorted(e.segments[0][0] for e in examples)
    assert len(examples) == 4
    assert sum("MV Marram Queen" in a for a in asked) == 2
    assert sum("the flagship" in a for a in asked) == 1 and sum("the largest vessel" in a for a in asked) == 1
