"""Questions from any corpus, offline: answer spans found by a spaCy parse, their sentences turned into questions.

    facts = generate_facts(store.chunks("handbook"))      # Fact(answer, source, chunk_id, sentence, questions)
    train, test = split_by_fact(facts, test_fraction=0.2)   # whole facts (sentences) on one side only
    rows = qa_items(train, "train", reword=True)            # JSONL rows, one per phrasing
    quality(facts, chunks, reference)                       # answer_in_source, no_copy_6, recall ...

See docs/qa-generation.md for how questions are made and what the figures mean.
"""

from .facts import Fact, Facts, QAError, generate_facts
from .quality import quality
from .split import heldout_path, qa_items, read_jsonl, split_by_fact, write_jsonl

__all__ = ["Fact", "Facts", "QAError", "generate_facts", "heldout_path", "quality", "qa_items", "read_jsonl", "split_by_fact",
           "write_jsonl"]
