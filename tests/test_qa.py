"""The offline QA generator (workbench/qa): answers verbatim, no copied word runs, split by fact, CLI, UI.

Unit tests run on short texts written here (a library and an observatory, not the shipped corpora); the
spaCy pipeline loads once per process. The slow test runs the whole shipped handbook and PubMedQA sample.
"""

import json
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.qa import QAError, generate_facts, qa_items, quality, split_by_fact
from workbench.qa.split import heldout_path
from workbench.qa.quality import corpus_words, recall
from workbench.qa.structure import units
from workbench.qa.text import copies_run
from workbench.results import Passage

LIBRARY = """# Alder Street Library

## Opening hours

The Alder Street Library opens at 09:00 and the reading room closes at 21:00 on weekdays. On Sundays the building
is closed. The library was founded in 1887 by the merchant Harriet Voss.

## Borrowing

Members may borrow up to 12 books at a time. The standard loan period for books is three weeks, and DVDs must be
returned within 7 days. Renewals can be requested at the front desk.
"""
OBSERVATORY = """Kerrow Hill Observatory sits 410 metres above sea level on the edge of the Brannock moors.

Public viewing nights take place every Friday from October to March. Tickets cost £8 for adults and are sold online.
Each session lasts about two hours and is limited to 30 visitors.

The observatory is run by the Brannock Astronomical Society, which has 240 members.
"""
NO_FACTS = "# Contents\n\n- apples\n- pears\n\n| a | b |\n|---|---|\n"


def passages(*texts_and_sources):
    return [Passage(text, source, 0.0, f"{source}#{k}") for k, (text, source) in enumerate(texts_and_sources)]


@pytest.fixture(scope="module")
def chunks():
    return passages((LIBRARY, "library.md"), (OBSERVATORY, "observatory.txt"))


@pytest.fixture(scope="module")
def facts(chunks):
    return generate_facts(chunks)


def by_answer(facts):
    return {f.answer: f for f in facts}


def test_answers_are_short_spans_verbatim_in_their_chunk_with_several_phrasings(facts, chunks):
    text = {c.chunk_id: c.text for c in chunks}
    assert len(facts) >= 8
    for f in facts:
        assert f.answer in text[f.chunk_id] and len(f.answer.split()) <= 5
        assert f.questions and len(set(f.questions)) == len(f.questions) <= 5
        assert all(q.endswith("?") and f.answer.lower() not in q.lower() for q in f.questions)
    assert sum(len(f.questions) >= 2 for f in facts) >= 0.8 * len(facts)


def test_questions_ask_about_their_answer_with_the_right_wh_word(facts):
    """An amount's answer keeps the qualifier its sentence gives it ("up to", "within", "about"), as people's
    reference answers do; the question may keep it too ("Within how many days ...?")."""
    found = by_answer(facts)
    expected = {  # answer -> a question the generator should ask for it
        "up to 12 books": "How many books may members borrow at a time?",
        "21:00": "When does the reading room close on weekdays?",
        "1887": "When was the library founded by the merchant Harriet Voss?",
        "three weeks": "How long is the loan period for books?",
        "within 7 days": "Within how many days must DVDs be returned?",
        "£8": "How much do tickets cost for adults?",
        "about two hours": "How many hours does each session last?",
        "Brannock Astronomical Society": "Who is the observatory run by?",
    }
    for answer, question in expected.items():
        assert answer in found, f"no fact for {answer!r}"
        assert question in found[answer].questions, found[answer].questions


def test_rule_made_questions_copy_no_six_words_of_their_chunk_and_quality_meets_the_goals(facts, chunks):
    text = {c.chunk_id: c.text for c in chunks}
    assert not [q for f in facts if f.how == "rule" for q in f.questions if copies_run(q, text[f.chunk_id])]
    for f in facts:  # cloze questions keep the sentence, so they may copy; their rewordings that do not come first
        copying = [copies_run(q, text[f.chunk_id]) for q in f.questions]
        assert copying == sorted(copying)
    figures = quality(facts, chunks)
    assert figures["answer_in_source"] == 1.0 and 0 < figures["no_copy_6"] < 1
    assert figures["facts"] == len(facts) and figures["questions"] == sum(len(f.questions) for f in facts)


def test_copies_run_counts_words_not_punctuation():
    source = "The standard probation period for new employees at Kestrel Loom is six months."
    assert copies_run("How long is the standard probation period for new employees?", source)
    assert not copies_run("At Kestrel Loom, how long is the probation period for new employees?", source)


def test_generation_is_deterministic_and_repeated_facts_count_once(chunks, facts):
    again = generate_facts(chunks)
    assert [(f.fact_id, f.questions) for f in again] == [(f.fact_id, f.questions) for f in facts]
    repeated = Passage("## Again\n\nMembers may borrow up to 12 books at a time.", "library.md", 0.0, "library.md#2")
    with_repeat = generate_facts(chunks + [repeated])
    assert [f.fact_id for f in with_repeat] == [f.fact_id for f in facts] and with_repeat.duplicates_removed == 1
    assert quality(with_repeat, chunks)["duplicates_removed"] == 1


def test_chunks_cut_inside_a_sentence_are_stitched_back_by_their_overlap():
    text = "The reading room closes at 21:00 on weekdays."
    cut = passages((text[:26], "library.md"), (text[4:], "library.md"))  # overlap: "reading room closes at"
    facts = generate_facts(cut)
    assert [(f.sentence, f.chunk_id) for f in facts if f.answer == "21:00"] == [(text, "library.md#1")]
    assert len({f.fact_id for f in facts}) == len(facts)


def test_max_facts_spreads_over_every_source(chunks):
    few = generate_facts(chunks, max_facts=4, seed=1)
    assert len(few) == 4 and {f.source for f in few} == {"library.md", "observatory.txt"}
    assert [f.fact_id for f in generate_facts(chunks, max_facts=4, seed=1)] == [f.fact_id for f in few]


def test_split_is_by_fact_and_sentence_stratified_by_source_and_test_phrasings_never_appear_in_train(facts, chunks):
    train, test = split_by_fact(facts, test_fraction=0.3, seed=0)
    assert train and test and {f.source for f in test} == {"library.md", "observatory.txt"}
    assert not {f.fact_id for f in train} & {f.fact_id for f in test}
    assert not {f.sentence for f in train} & {f.sentence for f in test}
    train_rows, test_rows = qa_items(train, "train", reword=True), qa_items(test, "test", reword=True)
    assert len(train_rows) == sum(len(f.questions) for f in train) and len(test_rows) == len(test)
    assert set(train_rows[0]) == {"id", "question", "answer", "source", "chunk_id", "fact_id"}
    train_questions = {r["question"].lower() for r in train_rows}
    text = {c.chunk_id: c.text for c in chunks}
    for row, f in zip(test_rows, test):  # a test question copies its chunk only when every phrasing does (cloze)
        assert row["question"].lower() not in train_questions
        assert not copies_run(row["question"], text[row["chunk_id"]]) or all(
            copies_run(q, text[row["chunk_id"]]) for q in f.questions[1:])
    reworded = [r for r, f in zip(test_rows, test) if len(f.questions) > 1]
    assert reworded and all(r["question"] != f.questions[0] for r, f in zip(test_rows, test) if len(f.questions) > 1)
    assert split_by_fact(facts, 0.3, seed=0) == (train, test)
    assert [r["question"] for r in qa_items(train, "train", reword=False)] == [f.questions[0] for f in train]


def test_empty_input_or_text_without_facts_is_an_error_saying_what_to_do():
    with pytest.raises(QAError, match="ingest some documents"):
        generate_facts([])
    with pytest.raises(QAError, match="no questions could be made"):
        generate_facts(passages((NO_FACTS, "contents.md")))
    with pytest.raises(ValueError, match="test fraction"):
        split_by_fact([], test_fraction=1.5)


def test_documents_are_read_as_prose_list_items_and_table_rows_with_their_heading():
    got = units("# Title\n\nSee **Anselm Turnbull** in [the guide](http://x).\n\n## 2.1 Fees\n\n| Item | Price |\n"
                "|---|---|\n| Day pass | £8 |\n\nMembers can:\n\n- borrow 12 books;\n- Video games: 14 days\n")
    assert [(u.kind, u.text, u.heading) for u in got] == [
        ("prose", "See Anselm Turnbull in the guide.", "Title"), ("row", "Day pass | £8", "Fees"),
        ("prose", "Members can:", "Fees"), ("item", "Members can borrow 12 books;", "Fees"),
        ("row", "Video games: 14 days", "Fees")]
    assert got[1].header == ["Item", "Price"] and got[1].cells == ["Day pass", "£8"]
    docx_like = units("Opening Hours\nDay | Opens\nMonday | 09:00\n")  # .docx/.html rows: cells joined by " | "
    assert [(u.kind, u.cells, u.header, u.heading) for u in docx_like] == [
        ("row", ["Monday", "09:00"], ["Day", "Opens"], "Opening Hours")]



def test_a_list_item_wrapped_over_lines_is_read_whole():
    """A PDF or a hard-wrapped text breaks an item over lines; the lines after it continue it, up to a blank line or
    the next item."""
    got = units("## Drills\n\n3. Man overboard drill: monthly, using the rescue dummy nicknamed\n\"Barnaby\".\n"
                "4. Fire drill: weekly on the\nvehicle ferries.\n\nA new paragraph.\n")
    assert [(u.kind, u.text) for u in got] == [
        ("item", 'monthly, using the rescue dummy nicknamed "Barnaby".'), ("item", "weekly on the vehicle ferries."),
        ("prose", "A new paragraph.")]
    facts = generate_facts(passages(("## Drills\n\n3. Man overboard drill: monthly, using the rescue dummy "
                                     "nicknamed\n\"Barnaby\".\n", "drills.md")))
    assert {f.answer: f.questions[0] for f in facts}["Barnaby"] == "What is the rescue dummy nicknamed?"

def test_a_labelled_item_that_opens_with_an_amount_gives_the_amount_as_its_value_and_reads_on():
    """"Holloway Island crossing (...): 35 minutes, operated by Marram Queen. The first sailing ...": the amount is
    the label's value, asked like a row's; the rest is still read as the item's sentences."""
    text = ("## Routes\n\n- **Holloway Island crossing** (Ferrier's Quay to Pennick Slip): 35 minutes, operated by "
            "Marram Queen. The first sailing leaves Ferrier's Quay at 06:30.\n- Festival week: site build begins "
            "on 3 June.\n")
    got = units(text)
    assert [(u.kind, u.cells) for u in got] == [
        ("row", ["Holloway Island crossing (Ferrier's Quay to Pennick Slip)", "35 minutes"]), ("item", []),
        ("item", [])]
    answers = by_answer(generate_facts(passages((text, "routes.md"))))
    assert answers["35 minutes"].questions[0] == "Under Routes, how long is the Holloway Island crossing?"
    assert "06:30" in answers


TABLES = """## Long service

| Years of service | Award |
|---|---|
| 5 years | £500 voucher |
| 10 years | £1,500 voucher and an extra week of leave |

## Borrowing

Members can:

- borrow up to 12 books at a time;
- Video games: 14 days

Kestrel Loom matches your contribution pound for pound up to 7% of salary.
"""


@pytest.fixture(scope="module")
def structured():
    return by_answer(generate_facts(passages((TABLES, "rules.md"))))


def test_a_table_row_yields_questions_with_its_header_and_label_answered_verbatim(structured):
    fact = structured["£500 voucher"]
    assert fact.how == "table" and "£500 voucher" in TABLES
    assert "Under Long service, what is the award for 5 years?" in fact.questions
    assert "What is the award for 5 years?" in fact.questions and "How much is the award for 5 years?" in fact.questions
    assert structured["£1,500 voucher and an extra week of leave"].how == "table"


def test_a_list_item_yields_questions_under_its_heading(structured):
    assert structured["14 days"].questions[0] == "Under Borrowing, how long are video games?"
    books = structured["up to 12 books"]
    assert books.how == "list" and books.questions[0].startswith("Under Borrowing, ")
    assert any("how many books" in q for q in books.questions)


def test_an_amount_keeps_the_qualifier_its_sentence_gives_it_and_a_comparison_is_left_in_the_question():
    """People's reference answers say "at least 15 minutes" and "every 12 months"; "more than" in a rule that
    forbids it would turn the answer around ("How long may a crew member work?" is not "more than 12 hours"), and
    a name after "only" is the name alone."""
    text = ("# Safety\n\nLifejackets are serviced every 12 months. No crew member may work more than 12 hours in a "
            "day. Rinse the skin for at least 15 minutes. Cobb Wharf is served only by Little Tern. Each ferry goes "
            "into dry dock once every two years.\n")
    facts = by_answer(generate_facts(passages((text, "safety.md"))))
    assert facts["every 12 months"].questions[0] == "How often are lifejackets serviced?"
    assert facts["at least 15 minutes"].questions[0] == "Rinse the skin for at least how many minutes?"
    assert facts["once every two years"].questions[0] == "How often does each ferry go into dry dock?"
    assert "12 hours" in facts and "Little Tern" in facts


def test_a_question_is_asked_as_a_person_asks_it_wh_phrase_first_and_an_agent_in_the_active_voice():
    """A person asks "How often are medicals renewed?", not "Medicals are renewed how often?", and "Who services the
    lifejackets?", not "Who are lifejackets serviced by?": the first phrasing, which Decide's lora learns, is the
    fronted one. A wh-phrase that cannot move ("not to whom", "less a how much fee") stays where it is."""
    text = ("# Crew\n\nMedicals are renewed every two years. The DPA reports marine casualties to the coastguard "
            "within 24 hours. The bosun keeps the mooring line register in the deck store. "
            "Lifejackets are serviced every 12 months by Northgate Survival Services. Expense claims "
            "must be approved by the Finance Director. Questions about pay should go to the payroll office, not to "
            "the Crewing Manager. Unused tickets may be refunded, less a £3.00 administration fee. Main engine "
            "services on the vehicle ferries are carried out every 1,500 running hours.\n")
    facts = by_answer(generate_facts(passages((text, "crew.md"))))
    assert facts["every two years"].questions[0] == "How often are medicals renewed?"
    assert facts["within 24 hours"].questions[0] == \
        "Within how many hours does the DPA report marine casualties to the coastguard?"
    assert facts["deck store"].questions[0] == "In which store does the bosun keep the mooring line register?"
    assert facts["Northgate Survival Services"].questions[0] == "Who services lifejackets every 12 months?"
    assert facts["Finance Director"].questions[0] == "Who must approve expense claims?"
    engines = facts["every 1,500 running hours"]
    assert engines.how == "cloze" and engines.questions[:2] == [
        "How often are main engine services on the vehicle ferries carried out?",
        "Main engine services on the vehicle ferries are carried out how often?"]  # the in-place cloze stays too
    asked = [q for f in facts.values() for q in f.questions]
    assert not any(q.startswith(("Not ", "Less ")) for q in asked)
    assert any(q == "Unused tickets may be refunded, less a how much administration fee?" for q in asked)


def test_a_thing_described_before_its_name_is_asked_by_the_description_and_answered_by_the_name():
    """"the catering contractor Saltgrass Catering Ltd.": a person asks who runs the café and expects the firm,
    not "catering contractor"; "the contractor Mardle Marine Electrics" was asked nothing."""
    text = ("# Contractors\n\nElectrical work is carried out by the contractor Mardle Marine Electrics. The café is "
            "run by the catering contractor Saltgrass Catering Ltd. Alcohol is not sold before 11:00. The relief "
            "vessel MV Corrie Bell covers the winter timetable.\n")
    facts = by_answer(generate_facts(passages((text, "contractors.md"))))
    assert facts["Mardle Marine Electrics"].questions[0] == "Who carries out electrical work?"
    assert facts["Saltgrass Catering Ltd."].questions[0] == "Who runs the café?"
    assert facts["MV Corrie Bell"].questions[0] == "Which relief vessel covers the winter timetable?"
    assert "catering contractor" not in facts and "relief vessel" not in facts


def test_a_name_after_its_description_and_a_comma_answers_for_the_description():
    """"The university's licensed waste contractor, Hallam Environmental, collects ...": the person asks who
    collects; the comma before the name is not a list's, and the description's owner goes with it. Two names
    after one description are a list: neither is "the" answer."""
    text = ("# Waste\n\nThe university's licensed waste contractor, Hallam Environmental, collects from the basement "
            "waste store every second Thursday. A mobile mechanic, Dr Bike, visits on the first Wednesday of every "
            "month. The approved couriers, Swiftline and Parcelhouse, collect from the post room.\n")
    facts = by_answer(generate_facts(passages((text, "waste.md"))))
    assert facts["Hallam Environmental"].questions[0] == ("Who collects from the basement waste store every second "
                                                          "Thursday?")
    assert facts["Dr Bike"].questions[0] == "Which mechanic visits on the first Wednesday of every month?"
    assert not {"Swiftline", "Parcelhouse", "approved couriers"} & set(facts)


def test_a_role_listed_against_a_person_is_asked_who_and_a_contact_by_what_it_is():
    facts = by_answer(generate_facts(passages(("## Who's who\n\n- Director of the laboratory: Professor Malcolm Ashdown\n"
                                               "- Laboratory Manager: Dr Sunita Hargreaves (room F2.14, extension 4410)\n"
                                               "- Crewing Manager: Bethan Marsh, extension 220\n"
                                               "- Fleet manager: Overnight Services Ltd\n\n## Emergency numbers\n\n"
                                               "- Campus Security (24 hours): extension 2222, or 01632 960 222\n",
                                               "people.md"))))
    manager = facts["Dr Sunita Hargreaves"]  # the room is not part of the name
    assert manager.kind == "person" and manager.questions[0] == "Who is the Laboratory Manager?"
    assert "Under Who's who, who is the Laboratory Manager?" in manager.questions
    assert facts["Professor Malcolm Ashdown"].questions[0] == "Who is the director of the laboratory?"
    assert facts["Bethan Marsh"].questions[0] == "Who is the Crewing Manager?"
    assert facts["extension 2222"].questions[0] == "What is the extension for Campus Security?"
    assert facts["Overnight Services Ltd"].questions[0].startswith("Under Who's who, what is the fleet manager")


def test_a_sentence_the_rule_based_transform_refuses_gets_a_cloze_question(structured):
    from workbench.qa.answers import candidates
    from workbench.qa.nlp import pipeline
    from workbench.qa.questions import frame

    sentence = "Kestrel Loom matches your contribution pound for pound up to 7% of salary."
    sent = next(pipeline()(sentence).sents)
    answer = next(a for a in candidates(sent) if a.text(sent.doc) == "7%")
    assert frame(sent, answer) is None  # the full transform cannot move the answer out of this sentence
    fact = structured["up to 7%"]  # its qualifier kept, as a person answering says it
    assert fact.how == "cloze" and fact.sentence == sentence
    assert fact.questions[0] == ("Kestrel Loom matches your contribution pound for pound up to what percentage of "
                                 "salary?")
    assert all("7%" not in q for q in fact.questions)


def test_a_named_place_or_document_is_not_asked_about_as_a_person_and_no_question_doubles_a_word():
    facts = generate_facts(passages((
        "The launches are inspected annually by the harbour authority for their Passenger Boat Licence. Crews "
        "tie up at Wrexley Harbour overnight. A crew member who finds an error should email the fleet office.",
        "fleet.md")))
    assert facts and not any(f.kind == "person" and f.answer in ("Passenger Boat Licence", "Wrexley Harbour")
                             for f in facts)
    assert not any("who who" in q.lower() for f in facts for q in f.questions)


def test_a_name_the_corpus_capitalises_keeps_its_capital_at_the_start_of_a_question():
    facts = generate_facts(passages((
        "Sandwort lies overnight at Ferrier's Quay. The crew of Sandwort check the ramps every morning.", "fleet.md")))
    asked = [q for f in facts for q in f.questions if q.startswith("Where ")]
    assert asked and all("Sandwort" in q for q in asked)


def test_each_of_two_coordinated_values_is_asked_with_its_own_qualifier():
    facts = by_answer(generate_facts(passages(
        ("Day tickets cost 3 crowns for adults and 2 crowns for card holders under 25.", "fares.md"))))
    assert facts["3 crowns"].questions[0] == "How much do day tickets cost for adults?"
    assert facts["2 crowns"].questions[0] == "Day tickets cost how much for card holders under 25?"


def test_recall_and_facts_per_1000_words_are_computed_from_their_definitions():
    text = " ".join(f"w{k}" for k in range(496)) + " Loans last 21 days."  # 500 words
    chunks = passages((text[:1500], "a.md"), (text[1000:], "a.md"))  # the overlap counts once
    assert corpus_words(chunks) == 500
    from workbench.qa import Fact

    facts = [Fact("1", "21 days", "a.md", "a.md#1", "Loans last 21 days.", ["How long do loans last?"], "count")]
    reference = [{"answer": "at least 21 days", "source": "a.md"},  # a qualifier the question keeps
                 {"answer": "21 days", "source": "b.md"},  # another document: not found
                 {"answer": "Harriet", "source": "a.md"}, {"answer": "", "source": "a.md"}]  # no answer: not counted
    assert recall(facts, reference) == (round(1 / 3, 4), 3)
    as_docx = [{"answer": "21 days", "source": "a.docx"}]  # the same document ingested in another format
    assert recall(facts, as_docx) == (1.0, 1)
    figures = quality(facts, chunks, reference)
    assert figures["words"] == 500 and figures["facts_per_1000_words"] == 2.0 and figures["recall"] == 0.3333


def test_hard_wrapped_lines_roles_and_named_descriptions_yield_facts_verbatim_in_their_source():
    """A PDF or a hard-wrapped text breaks lines inside names ("Ruth\nPenhallow"): the fact is still made and its
    answer counts as in the source. A lower-case role ("the head of customer services, Owen Treloar") and a
    description said to be a name ("The approved hotel is the Harbour View Inn") are asked about too."""
    text = ("# Crewing\n\nThe fleet operations manager, Ruth\nPenhallow, signs off every roster before it is "
            "published.\nDisruption is reviewed at the service meeting, chaired by the head of customer services, "
            "Owen Treloar.\n\nThe approved hotel is the Harbour\nView Inn on Quay Street.\n")
    chunks = passages((text, "crewing.pdf"))
    facts = generate_facts(chunks)
    answers = by_answer(facts)
    assert {"Ruth Penhallow", "Owen Treloar", "Harbour View Inn"} <= set(answers)
    assert "Who is the head of customer services?" in answers["Owen Treloar"].questions
    assert "What is the approved hotel?" in answers["Harbour View Inn"].questions
    assert quality(facts, chunks)["answer_in_source"] == 1.0
    every = [{"answer": "every 20 minutes", "source": "a.md"}]  # "how often" asks for it as "20 minutes"
    from workbench.qa import Fact

    assert recall([Fact("1", "20 minutes", "a.md", "a.md#0", "Patrols go every 20 minutes.",
                        ["How often do patrols go?"], "count")], every) == (1.0, 1)


def test_a_title_before_a_name_and_a_hyphenated_name_in_apposition_are_roles():
    """"led by head mechanic Tomasz Vale" names the head mechanic; "the finance administrator, Delphine
    Morrow-Achebe," too, though the parser heads the name at its last part; a role outside the apposition the
    parser finds ("the race referee, Sorcha Penn, within ...") counts; a place after a comma is no person."""
    text = ("# Workshop\n\nThese rules are agreed by the workshop committee, led by head mechanic Tomasz Vale.\n"
            "Questions about fees go to the finance administrator, Delphine Morrow-Achebe, who works on Tuesdays.\n"
            "A team may lodge a protest with the race referee, Sorcha Penn, within 20 minutes of the results.\n"
            "Send the form to the Finance Team, Quay House, by Friday.\n")
    facts = generate_facts(passages((text, "workshop.md")))
    answers = by_answer(facts)
    assert "Who is the head mechanic?" in answers["Tomasz Vale"].questions
    assert "Who is the finance administrator?" in answers["Delphine Morrow-Achebe"].questions
    assert "Who is the race referee?" in answers["Sorcha Penn"].questions
    assert not any(q.startswith("Who is the") for f in facts for q in f.questions if f.answer == "Quay House")


def test_where_a_thing_is_kept_is_asked_with_where_and_answered_with_its_preposition():
    """A clause that places its subject: "Where is ...?", "Where are ... kept?", "Where does ... hang?", the answer
    with its preposition. Times, manners, rules, idioms, a fronted scope and a negated subject are no places."""
    text = ("# Workshop\n\nThe first-aid kit hangs beside the main door, and the fire extinguisher is next to the "
            "paint booth.\nSpecialist tools are kept in the locked Blue Cabinet.\n"
            "Assistance dogs are welcome in every branch.\n"
            "The clinic is held in the Dobby meeting room and bookings open on Monday.\n"
            "Members pay in writing. Fees are set under the pricing policy. A mechanic is on site.\n"
            "In Lisbon, dental cover is included. No open flames are allowed in the paint booth.\n"
            "Rooms hold between two and six people.\n")
    facts = [f for f in generate_facts(passages((text, "workshop.md"))) if f.how == "place"]
    asked = {f.questions[0]: f.answer for f in facts}
    assert asked == {"Where does the first-aid kit hang?": "beside the main door",
                     "Where is the fire extinguisher?": "next to the paint booth",
                     "Where are specialist tools kept?": "in the locked Blue Cabinet",
                     "Where are assistance dogs welcome?": "in every branch",
                     "Where is the clinic held?": "in the Dobby meeting room"}
    assert all(f.kind == "place" for f in facts)


def test_a_colour_and_a_name_given_in_passing_are_asked_about():
    """One colour before a noun is asked in place; a sentence with two colours, a colour after a count or a comma,
    and a capitalised name ("Blue Cabinet") are not. "Free Wi-Fi, named HCL-Open," gives the Wi-Fi's name."""
    text = ("# Site\n\nNeedles and glass pipettes go in the yellow sharps bins.\n"
            "Used parts are priced by bin colour: yellow bins 1 mark, red bins 6 marks.\n"
            "Each move costs 1 silver coin. Volunteers meet at the Hub, a white tent behind the stage.\n"
            "Specialist tools are kept in the Blue Cabinet.\n"
            "Free Wi-Fi, named HCL-Open, is available at every branch.\n")
    facts = generate_facts(passages((text, "site.md")))
    colours = {f.questions[0]: f.answer for f in facts if f.how == "colour"}
    assert colours == {"Needles and glass pipettes go in what colour sharps bins?": "yellow"}
    answers = by_answer(facts)
    assert "What is the Free Wi-Fi called?" in answers["HCL-Open"].questions


def test_a_phone_extension_is_an_answer_asked_by_which_extension():
    """"on extension 2222" was skipped as a number after a noun ("type 2"); people ask for extensions."""
    text = "# Contacts\n\nReception is staffed on weekdays and can be reached on ext. 1000.\n"
    answers = by_answer(generate_facts(passages((text, "contacts.md"))))
    assert answers["ext. 1000"].questions[0] == "Reception can be reached on which extension?"


def test_a_day_of_the_month_written_as_an_ordinal_is_a_date():
    """"on the 25th of each month" is asked when; "the 3rd floor" is not a date."""
    text = ("# Pay\n\nHalbridge colleagues are paid monthly on the 25th of each month. Claims must be submitted by "
            "the 5th of April. Payroll sits on the 3rd floor in Halbridge.\n")
    answers = by_answer(generate_facts(passages((text, "pay.md"))))
    assert answers["25th of each month"].questions[0] == "When are Halbridge colleagues paid monthly?"
    assert answers["5th of April"].kind == "date"
    assert not any("3rd" in a and f.kind == "date" for a, f in answers.items())  # a place: "on the 3rd floor"


def test_a_weekday_keeps_its_ordinal_its_month_and_its_part_of_the_day():
    """"on the first Tuesday of each month" answers "first Tuesday of each month", not "Tuesday" asked as "the first
    what day"; "on Tuesday mornings" is asked "what day", not "what date"."""
    text = ("# Safety\n\nThe Safety Committee meets on the first Tuesday of each month in the boardroom. A muster "
            "drill is held on every vessel once a week, on Tuesday mornings before the first sailing. The library "
            "is closed on Sundays.\n")
    answers = by_answer(generate_facts(passages((text, "safety.md"))))
    first_tuesday = answers["first Tuesday of each month"]
    assert first_tuesday.questions[0] == "When does the Safety Committee meet in the boardroom?"
    assert "first Tuesday" not in answers and "Tuesday" not in answers
    assert any("what day" in q for q in answers["Tuesday mornings"].questions)
    assert not any("what date" in q for q in answers["Tuesday mornings"].questions)
    assert answers["Sundays"].questions[0] == "When is the library closed?"


def test_a_role_held_by_a_named_role_holder_is_asked_for_the_name():
    """"The Designated Person Ashore (DPA) is the Safety Manager, Colin Abernethy": both roles ask for the name, in
    one fact; a one-word subject ("The contact is ...") is not asked."""
    text = ("# Safety\n\nThe Designated Person Ashore (DPA) is the Safety Manager, Colin Abernethy, who has direct "
            "access to the board. The contact is the office manager, Priya Shah.\n")
    facts = generate_facts(passages((text, "safety.md")))
    answers = by_answer(facts)
    assert answers["Colin Abernethy"].questions[:2] == ["Who is the Safety Manager?",
                                                         "Who is the Designated Person Ashore?"]
    assert sum(f.answer == "Colin Abernethy" for f in facts) == 1
    assert not any("the contact" in q for q in answers["Priya Shah"].questions)


def test_a_clause_with_its_verb_left_out_is_not_mixed_into_a_question():
    """"Boarding closes 5 minutes before departure for foot passengers and 15 minutes before departure for vehicles":
    the parse hangs the second clause on "closes", and questions took in both ("How many minutes does boarding close
    5 minutes before departure for foot passengers before departure for vehicles?"). The first clause is asked in
    its own words, the second not at all; a verb that does not agree with the sentence's subject does not borrow
    it ("how many metres does Marram Queen and Sandwort exceed?")."""
    text = ("# Rules\n\nBoarding closes 5 minutes before departure for foot passengers and 15 minutes before "
            "departure for vehicles. Head and stern lines on the vehicle ferries are replaced every 18 months, and the "
            "spring lines every 24 months. Marram Queen and Sandwort must not sail when the sustained wind speed "
            "exceeds 40 knots or the significant wave height at the harbour mouth buoy exceeds 2.5 metres.\n")
    facts = generate_facts(passages((text, "rules.md")))
    questions = [q for f in facts for q in f.questions]
    assert not any("5 minutes" in q and "how many minutes" in q.lower() for q in questions)
    assert not any(f.answer == "15 minutes" for f in facts)
    assert by_answer(facts)["every 18 months"].questions[0] == ("How often are head and stern lines on the vehicle "
                                                                "ferries replaced?")
    assert not any("24" in q for q in by_answer(facts)["every 18 months"].questions)
    assert not any("Sandwort exceed" in q for q in questions)


def test_a_sentence_that_says_what_a_name_is_asks_for_the_name_by_its_description():
    """"Our travel management company is Corvid Travel Management" and "Harbourline is our confidential employee
    assistance programme, available to ...": a person asks for the name by what it is ("our" reads as "the").
    Not asked: a description of one word ("Loomdesk is our portal") or with a clause ("the place that ...")."""
    text = ("# Services\n\nOur travel management company is Corvid Travel Management. Staff can call Harbourline "
            "at any hour. Harbourline is our confidential employee assistance programme, available to you and your "
            "household. Loomdesk is our portal. Loomdesk is the place that holds your payslips.\n")
    answers = by_answer(generate_facts(passages((text, "services.md"))))
    assert answers["Corvid Travel Management"].questions[0] == "What is the travel management company?"
    assert answers["Harbourline"].questions[0] == ("What is the name of the confidential employee assistance "
                                                   "programme?")
    assert "Loomdesk" not in answers


def test_a_name_a_thing_is_known_as_is_asked_about_unless_the_thing_or_the_name_is_unclear():
    """"the planned maintenance system, known on board as "Keelson"" -> what is it known as on board. Not asked:
    "known as" after a noun inside another noun's phrase (the lawn, or the shelters beside it?), and a name the
    parse cut short ("Assembly Point" of "Assembly Point F")."""
    text = ('# Maintenance\n\nAll maintenance is recorded in the planned maintenance system, known on board as '
            '"Keelson". The assembly point is the lawn beside the Orchard Lane bicycle shelters, known as Assembly '
            'Point F.\n')
    answers = by_answer(generate_facts(passages((text, "maintenance.md"))))
    assert answers["Keelson"].questions[0] == "What is the planned maintenance system known as on board?"
    assert not {"Assembly Point", "Assembly Point F"} & set(answers)


def test_a_measure_written_before_its_noun_is_asked_by_its_unit():
    """"a 40-minute safety orientation" asks how long; "a 27-point safety check" how many points; a lone noun
    that only measures ("a 90-minute limit") is not asked about."""
    text = ("# Workshop\n\nNew members must attend a free 40-minute safety orientation before using the stands.\n"
            "Every refurbished bike passes a 27-point safety check.\n"
            "When others are waiting, a 90-minute limit applies.\n")
    facts = [f for f in generate_facts(passages((text, "workshop.md"))) if f.how == "measure"]
    assert {f.questions[0]: f.answer for f in facts} == {
        "How long is the safety orientation?": "40-minute",
        "How many points does the safety check have?": "27-point"}


def test_a_street_address_is_asked_for_the_name_before_it():
    """"Larkspur Dental Practice, 7 Mallory Row, Eastwick." gives the practice's address; an address in a place
    clause is asked with "where", its answer ending before the town after a comma."""
    text = ("# Contact\n\nLarkspur Dental Practice, 7 Mallory Row, Eastwick.\n\n"
            "Head office is at 14 Harbour Road, Wrexley.\n")
    facts = generate_facts(passages((text, "contact.md")))
    asked = {f.questions[0]: f.answer for f in facts if f.how == "place"}
    assert asked["What is the address of Larkspur Dental Practice?"] == "7 Mallory Row"
    assert asked["Where is head office?"] == "at 14 Harbour Road"


def test_who_made_a_thing_and_when_is_asked_from_a_participle_after_its_noun():
    """"designed by X and first published by Y in 2019" after the thing's noun: who designed it, who published it,
    in what year; the thing named is the subject the noun is said of, or the name it stands beside. An agent of
    another verb ("used by") is not a maker."""
    text = ("# About\n\nLanterns of Vell is a strategy board game for 2 to 5 players, designed by Corvin Ashdale "
            "and Noor Eskelund and first published by Thimbleweed Games in 2019.\n\n"
            "Welcome to Spokehaven, a member-owned bicycle co-operative founded in 2011 in a former tram depot.\n\n"
            "Ness Point is a quiet slipway used by Brightwater Ferries.\n")
    facts = [f for f in generate_facts(passages((text, "about.md"))) if f.how == "origin"]
    assert {f.questions[0]: f.answer for f in facts} == {
        "Who was Lanterns of Vell designed by?": "Corvin Ashdale and Noor Eskelund",
        "Who was Lanterns of Vell published by?": "Thimbleweed Games",
        "In what year was Lanterns of Vell published?": "2019",
        "In what year was Spokehaven founded?": "2011"}


def test_a_pronoun_subject_is_asked_about_the_topic_its_paragraph_opened_with():
    """"It"/"they" stand for the subject of the paragraph's first sentence, of the same number; not when that
    sentence has an object the pronoun could stand for, when another subject came between, or for a dummy "it"."""
    text = ("# Workshop\n\nThe repair room is where members fix their own bicycles. It has twelve workbenches.\n\n"
            "The ferry company runs one night service. It leaves at 23:40.\n\n"
            "The museum is popular. It is important to book by 3 May.\n\n"
            "The volunteers meet on Fridays. It opens at 9 a.m.\n\n"
            "The garden is open daily. The café sells cakes. It closes at 17:00.\n\n"
            "The stewards are volunteers. In return, they receive a meal voucher worth 12 crowns.\n")
    facts = generate_facts(passages((text, "workshop.md")))
    asked = {f.answer: f.questions for f in facts}
    assert asked["twelve workbenches"][0] == "How many workbenches does the repair room have?"
    assert "The stewards receive a meal voucher worth how much?" in asked["12 crowns"]
    assert not any(wrong in q.lower() for f in facts for q in f.questions
                   for wrong in ("company leaves", "museum is important", "volunteers open", "garden closes"))
    assert {"23:40", "9 a.m.", "17:00"}.isdisjoint(asked)  # "it" stays: a question with "it" says nothing


def test_she_her_and_its_in_a_list_item_or_paragraph_are_asked_about_its_topic():
    """A list item names its topic first like a paragraph: "She", "Her master", "Its capacity" and "Their shifts"
    stand for it; "she" and "her" only for a name, never for "the ferry"."""
    text = ("# Fleet\n\n- **MV Sandwort** is the second vehicle ferry. She is certified for 210 passengers. "
            "Her designated master is Captain Helen Okafor.\n- **MV Tern** is a launch.\n\n"
            "The workshop is open daily. Its capacity is 40 people.\n\n"
            "The stewards are volunteers. Their shifts last four hours.\n\n"
            "The old ferry is slow. Her master is Captain Rhys Penhale.\n")
    facts = generate_facts(passages((text, "fleet.md")))
    asked = {f.answer: f.questions for f in facts}
    assert "Who is MV Sandwort's designated master?" in asked["Captain Helen Okafor"]
    assert "Under Fleet, for how many passengers is MV Sandwort certified?" in asked["210 passengers"]
    assert asked["40 people"][0] == "How many people is the workshop's capacity?"
    assert asked["four hours"][0] == "How many hours do the stewards' shifts last?"
    assert "Captain Rhys Penhale" not in asked  # "her" does not stand for "the old ferry"
    assert quality(facts, passages((text, "fleet.md")))["answer_in_source"] == 1.0


def test_an_opening_participle_a_firm_and_a_count_of_another_thing_are_asked():
    """"Built in 2009 by X, she is ..." is read as "MV Marram Queen was built in 2009 by X" and "MV Marram Queen is
    ..."; "Hesketh & Dunn" is one maker, asked "by whom"; "22 cars" after "210 passengers" is asked alone. Not a
    clause opened by "When", and not a one-word agent ("by the Trust")."""
    text = ("# Fleet\n\n- **MV Marram Queen** is the flagship. Built in 2009 by Hesketh & Dunn at Carrow Yard, she "
            "is 48 metres long.\n- **MV Sandwort** is certified for 210 passengers and 22 cars.\n\n"
            "When a sailing is cancelled because of fog, the duty controller posts a notice within 15 minutes.\n\n"
            "Only the festival bar, run by the Trust, may sell alcohol.\n")
    facts = generate_facts(passages((text, "fleet.md")))
    asked = {f.answer: f for f in facts}
    assert asked["Hesketh & Dunn"].questions[0] == \
        "Under Fleet, by whom was MV Marram Queen built in 2009 at Carrow Yard?"
    assert asked["Hesketh & Dunn"].sentence.startswith("Built in 2009 by Hesketh & Dunn")  # the sentence it came from
    assert "How many metres long is MV Marram Queen?" in asked["48 metres"].questions
    assert "Under Fleet, MV Sandwort is certified for how many cars?" in asked["22 cars"].questions
    assert not any(q.startswith(("Who is cancelled", "What is cancelled")) for f in facts for q in f.questions)
    assert "Trust" not in asked
    assert quality(facts, passages((text, "fleet.md")))["answer_in_source"] == 1.0


def test_a_relative_clause_after_a_comma_is_asked_about_its_noun_and_a_restrictive_one_is_not():
    """"..., which starts within 30 seconds": asked with the noun it describes (the whole noun phrase, not the
    room the noun is in) as the subject; the fact keeps the sentence it came from. "a cabinet that fails" narrows
    its noun, so it is not restated."""
    text = ("# Power\n\nThe freezers are on the backup generator, which starts automatically within 30 seconds of "
            "a power cut.\n\nFull cans go to the waste collection point in room F2.22, which is open on Wednesdays "
            "from 13:00 to 15:00.\n\nA cabinet that fails its test after 6 months is labelled with a red tag.\n")
    facts = generate_facts(passages((text, "power.md")))
    asked = {f.answer: f for f in facts}
    assert asked["within 30 seconds"].questions[0] == \
        "Within how many seconds of a power cut does the backup generator start automatically?"
    assert asked["within 30 seconds"].sentence.startswith("The freezers are on the backup generator, which")
    assert asked["Wednesdays"].questions[0] == "On what day is the waste collection point in room F2.22 open from " \
        "13:00 to 15:00?"
    assert not any(q.startswith("A cabinet fails") for f in facts for q in f.questions)
    assert quality(facts, passages((text, "power.md")))["answer_in_source"] == 1.0


def test_cloze_reads_a_verb_the_parser_took_for_an_adjective_and_leaves_out_second_values_and_remarks():
    """"The lines open at ..." (the parser's adjective "open"), a sentence opening with a participle, a second
    value joined to the verb and a closing remark after a comma; "For X," stays in front, "In return," goes."""
    text = ("# Opening\n\nThe telephone lines open at 8:15 a.m.\n\n"
            "Amplified music must stop at 10:30 p.m. on Saturday and 6:30 p.m. on Sunday, a condition of the "
            "licence.\n\nFor private patients, a missed-appointment fee of 35 talers is charged.\n\n"
            "The festival is run by a trust with a core committee of nine members.\n")
    asked = {f.answer: f.questions for f in generate_facts(passages((text, "opening.md")))}
    assert asked["8:15 a.m."][0] == "At what time do the telephone lines open?"
    assert "At what time must amplified music stop on Saturday?" in asked["10:30 p.m."]
    assert "6:30 p.m." not in asked
    assert "For private patients, a missed-appointment fee of how many talers is charged?" in asked["35 talers"]
    assert "which committee of nine members" in asked["core committee"][0]


def test_pence_day_ranges_and_places_the_tagger_calls_nouns_are_asked_and_an_event_is_not_a_person():
    """"22p per kWh" is money; "from 1 to 14 March" a range of dates; "at Tollbridge" a place; "the Benefits
    Fortnight" is not asked with "who"; "X is where ..." is not turned round into "What is where ...?"."""
    text = ("# Site\n\nCharging at the EV points costs 22p per kWh.\n\n"
            "Each year the Benefits Fortnight runs from 1 to 14 March.\n\n"
            "Repair Café is held at Tollbridge on the second Saturday of each month.\n\n"
            "Rig Day is where new starters first see a camera rig.\n")
    facts = generate_facts(passages((text, "site.md")))
    asked = {f.answer: f.questions for f in facts}
    assert next(f for f in facts if f.answer.startswith("22p")).kind == "money"
    assert asked["1 to 14 March"][0] == "Each year the Benefits Fortnight runs between what dates?"
    assert asked["at Tollbridge"][0] == "Where is Repair Café held?"
    assert not any(q.startswith(("Each year who", "What is where")) for f in facts for q in f.questions)



def test_a_verb_the_parser_took_for_a_noun_is_parsed_again_and_keeps_its_own_word():
    """"Sessions last 30 minutes", "Fix-a-Flat runs every Sunday": the small parser reads these verbs as an
    adjective or a noun; the sentence is parsed with a stand-in verb, and the words and lemma stay the text's own."""
    from workbench.qa.nlp import parse

    doc = next(parse(["Fix-a-Flat runs every Sunday at 11 a.m. and costs 18 marks for non-members."]))
    assert doc.text == "Fix-a-Flat runs every Sunday at 11 a.m. and costs 18 marks for non-members."
    assert [(t.pos_, t.lemma_) for t in doc if t.lower_ in ("runs", "costs")] == [("VERB", "run"), ("VERB", "cost")]
    kept = next(parse(["Members who arrive in the last 30 minutes pay the running costs of the hall."]))
    assert {t.lower_: t.pos_ for t in kept}["last"] == "ADJ" and {t.lower_: t.pos_ for t in kept}["costs"] == "NOUN"
    asked = {f.answer: f.questions for f in generate_facts(passages(
        ("# Rhyme Time\n\nRhyme Time is held in the children's library every Monday. Sessions last 30 minutes.\n",
         "events.md")))}
    assert asked["30 minutes"][0] == "How many minutes do sessions last?"


def test_a_sentence_ends_after_a_time_or_a_company_and_a_question_never_cuts_a_hyphenated_word():
    """"... to 1 p.m. All branches close ..." and "... Saltgrass Catering Ltd. Alcohol is ..." are two sentences;
    "Fix-a-Flat", which the parser takes apart ("a-Flat" an apposition of "Fix"), is not left as "Fix-" when the
    cloze question drops the apposition."""
    from workbench.qa.nlp import parse

    doc = next(parse(["Tollbridge opens Saturday from 9 a.m. to 1 p.m. All branches close at 2 p.m. on Sunday."]))
    assert [s.text for s in doc.sents] == ["Tollbridge opens Saturday from 9 a.m. to 1 p.m.",
                                           "All branches close at 2 p.m. on Sunday."]
    assert len(list(next(parse(["The desk opens at 9 a.m. Monday to Friday."])).sents)) == 1
    café = next(parse(["The café is run by Saltgrass Catering Ltd. Alcohol is not sold before 11:00."]))
    assert [s.text for s in café.sents] == ["The café is run by Saltgrass Catering Ltd.",
                                            "Alcohol is not sold before 11:00."]
    facts = generate_facts(passages(("Fix-a-Flat runs on the first Monday of each month at 7 p.m. and costs 10 "
                                     "marks for members and 18 marks for non-members.", "classes.md")))
    assert facts and not any("Fix- " in q for f in facts for q in f.questions)
    single = generate_facts(passages(("A car with driver costs 32 pounds single. A bicycle costs 4 pounds.",
                                      "fares.md")))
    assert not any("much single" in q for f in single for q in f.questions)  # an adjective after its noun stays


def test_a_telephone_number_is_one_answer_asked_with_what_number():
    """Digit groups starting with 0 or + are one answer, not a number and a "year" ("on 0311 448 what year?")."""
    text = ("# Contact\n\nRenew items by telephone on 0311 448 2090 at any time.\n\n"
            "The office number is +44 20 7946 0958.\n\nThe trail is 12 km long and opened in 2019.\n")
    asked = {f.answer: f.questions for f in generate_facts(passages((text, "contact.md")))}
    assert asked["0311 448 2090"][0] == "Renew items by telephone on what number at any time?"
    assert asked["+44 20 7946 0958"][0] == "What is the office number?"
    assert "2090" not in asked and "2019" in asked


def test_an_age_is_asked_with_how_old():
    facts = generate_facts(passages(("Volunteers must be at least 14 years old. The building is 120 years old.",
                                     "volunteering.md")))
    assert {f.questions[0] for f in facts} >= {"How old must volunteers be?", "How old is the building?"}


def test_no_question_ends_on_a_preposition_left_without_its_object_or_asks_for_a_cut_unit():
    """"hold at most two cards" (the parser leaves "at" without an object) and "1 first-player token" (the
    tokenizer cuts the unit at its hyphen)."""
    facts = generate_facts(passages(("Each player may hold at most two Guild cards, and a claimed card stays. "
                                     "Each box holds 1 first-player token shaped like a bell.", "rules.md")))
    questions = [q for f in facts for q in f.questions]
    assert "How many Guild cards may each player hold?" in questions
    assert not any(q.endswith(" at?") or "-players" in q for q in questions)
    from workbench.qa.wording import plural_unit

    assert [plural_unit(u) for u in ("week", "facility", "kWh", "microM.")] == ["weeks", "facilities", "kWh", "microM."]

# --- the qa subcommand --------------------------------------------------------------------------------
@pytest.fixture()
def tiny_corpora(store, tmp_path):
    from workbench.retrieval.ingest import ingest

    docs = tmp_path / "mini"
    docs.mkdir()
    (docs / "library.md").write_text(LIBRARY)
    (docs / "observatory.txt").write_text(OBSERVATORY)
    ingest(store, "mini", [docs], chunk_size=200, chunk_overlap=20)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "contents.md").write_text(NO_FACTS)
    ingest(store, "bare", [bare], chunk_size=200, chunk_overlap=20)
    store.create("empty-one")
    return store


def test_qa_command_writes_train_and_test_jsonl_and_prints_quality(tiny_corpora, settings, tmp_path, capsys):
    out = tmp_path / "out" / "mini.jsonl"
    assert main(["qa", "--corpus", "mini", "--out", str(out), "--data-dir", settings.data_dir, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    train = [json.loads(line) for line in out.read_text().splitlines()]
    test = [json.loads(line) for line in heldout_path(out).read_text().splitlines()]
    assert heldout_path(out).name == "mini.test.jsonl"
    assert figures["train"] == len(train) > 0 and figures["test"] == len(test) > 0
    assert figures["answer_in_source"] == 1.0 and figures["no_copy_6"] >= 0.5  # cloze questions may copy
    assert figures["words"] > 0 and figures["facts_per_1000_words"] == round(1000 * figures["facts"] /
                                                                             figures["words"], 1)
    assert not {r["fact_id"] for r in train} & {r["fact_id"] for r in test}
    assert {"question", "answer", "source", "chunk_id"} <= set(train[0]) and train[0]["source"] in ("library.md",
                                                                                                   "observatory.txt")


def test_qa_command_refuses_a_bad_reference_file_in_one_line(tiny_corpora, settings, tmp_path, capsys):
    bad = tmp_path / "ref.jsonl"
    bad.write_text("question,answer\n")
    args = ["qa", "--corpus", "mini", "--out", str(tmp_path / "qa.jsonl"), "--data-dir", settings.data_dir]
    assert main(args + ["--reference", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: reference file {bad} line 1 is not a JSON object") and err.count("\n") == 1
    assert main(args + ["--reference", str(tmp_path / "missing.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("corpus, message", [
    ("nope", "error: unknown corpus 'nope'"),
    ("empty-one", "error: corpus 'empty-one' is empty: add documents to it first"),
    ("bare", "error: no questions could be made from this corpus"),
])
def test_qa_command_refuses_unknown_empty_or_factless_corpora_in_one_line(tiny_corpora, settings, tmp_path, capsys,
                                                                          corpus, message):
    out = tmp_path / "qa.jsonl"
    assert main(["qa", "--corpus", corpus, "--out", str(out), "--data-dir", settings.data_dir]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.ui
def test_generate_questions_button_returns_quality_and_both_files(client):
    summary, files = client.predict("handbook", 0, 0.2, api_name="/generate_qa")
    assert "Answer verbatim in its passage: **100%**" in summary
    names = sorted(Path(f).name for f in files)
    assert names == ["handbook-qa.jsonl", "handbook-qa.test.jsonl"]
    rows = [json.loads(line) for f in files for line in Path(f).read_text().splitlines()]
    assert {r["answer"] for r in rows} <= {"62 euro per day", "140 euro per night", "4455", "14 characters"} and rows
    assert "per 1,000 words" in summary


# --- whole corpora --------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["handbook", "pubmedqa-sample"])
def test_shipped_corpora_meet_the_quality_goals(corpus, store):
    from workbench.qa.run import shipped_reference
    from workbench.retrieval.ingest import CORPORA_DIR, ingest

    ingest(store, corpus, [CORPORA_DIR / corpus / "docs"], chunk_size=160, chunk_overlap=20)
    chunks = store.chunks(corpus)
    facts = generate_facts(chunks)
    reference = shipped_reference(corpus)
    figures = quality(facts, chunks, reference)
    assert figures["answer_in_source"] == 1.0 and figures["no_copy_6"] >= 0.20  # cloze questions keep their sentence
    assert figures["questions"] >= 2.5 * figures["facts"]
    if corpus == "handbook":
        assert figures["facts_per_1000_words"] >= 25 and figures["recall"] >= 0.5
    else:  # PubMedQA abstracts: dense statistics, which are not asked about
        assert figures["facts_per_1000_words"] >= 15
    train, test = split_by_fact(facts)
    assert len(test) >= 0.1 * len(facts)


# --- yes/no questions (workbench/qa/yesno.py) ------------------------------------------------------------
FERRY = """# Fares and boarding

Bicycles are carried free of charge on all sailings. Season tickets are not sold. There is no ticket office at
Cobb Wharf. External users pay twice the internal rate. The return fare is £9. The child fare is £4.
Cash is not accepted on board. Pets are never carried in the cabin. Only crew may enter the wheelhouse.
It leaves at 09:00. Dogs must be kept on a lead and may not sit on seats.
Unused tickets may be refunded up to 24 hours before departure.
"""


@pytest.mark.parametrize("sentence, expected", [
    ("Bicycles are carried free of charge.", ("Are bicycles carried free of charge?", "yes")),
    ("Season tickets are not sold.", ("Are season tickets sold?", "no")),
    ("There is no ticket office at Cobb Wharf.", ("Is there a ticket office at Cobb Wharf?", "no")),
    ("External users pay twice the internal rate.", ("Do external users pay twice the internal rate?", "yes")),
    ("Members may not take tools off the premises.", ("May members take tools off the premises?", "no")),
    ("Only crew may enter the wheelhouse.", None),  # "only" turns the answer around
    ("It leaves at 09:00 every day.", None),  # a pronoun subject leaves the question without its referent
    ("Dogs must be kept on a lead and may not sit on seats.", None),  # two clauses, one question cannot ask both
])
def test_a_statement_becomes_a_yes_no_question_answered_by_its_negation(sentence, expected):
    from workbench.qa.nlp import pipeline
    from workbench.qa.yesno import polar

    assert polar(next(pipeline()(sentence).sents)) == expected


def test_yes_no_questions_are_balanced_hold_their_evidence_and_a_swapped_value_is_answered_no():
    from workbench.qa.yesno import yes_no_questions

    chunks = passages((FERRY, "fares.md"), (LIBRARY, "library.md"))
    found = yes_no_questions(chunks, seed=2)
    answers = [q.answer for q in found]
    assert answers.count("yes") == answers.count("no") >= 3
    text = " ".join((FERRY + LIBRARY).split())
    assert all(q.evidence in text and q.question.endswith("?") for q in found)
    swapped = [q for q in found if q.answer == "no" and not {"not", "never", "no"} & set(q.evidence.split())]
    assert swapped  # a sum of the sentence replaced by one found elsewhere in the corpus ("£9" by "£4")
    assert all("£" in q.question and "£" + q.question.split("£")[1][:1] not in q.evidence for q in swapped)
    assert yes_no_questions(chunks, seed=2) == found  # deterministic
    assert len(yes_no_questions(chunks, max_questions=2, seed=1)) == 2


def test_a_thing_named_by_what_it_is_is_also_asked_by_that():
    """"MV Marram Queen is the flagship", "The Terminal Manager is Gwen Aldous", "the relief vessel MV Corrie Bell":
    a fact's first question naming the thing is also asked by its description (and by the name without its "MV"
    where the corpus writes it so); not a name used as a modifier, not a description two names share or a plural
    one, and not one the question already holds."""
    text = ("# Fleet\n\n- **MV Marram Queen** is the flagship. She is certified for 36 cars.\n"
            "- **MV Little Tern** is a passenger-only launch certified for 96 passengers.\n\n"
            "Marram Queen lies overnight on Berth 1. The Marram Queen service costs £4.50 each way.\n\n"
            "The Terminal Manager is Gwen Aldous, whose office is upstairs. Gwen Aldous answers complaints within 10 "
            "days.\n\n"
            "While a vessel is away the relief vessel MV Corrie Bell is chartered at a daily rate of 4,200 pounds. "
            "MV Corrie Bell carries 150 passengers.\n\n"
            "The fire wardens are Fiona Redpath and Gareth Olusanya. Fiona Redpath holds 12 keys.\n")
    facts = generate_facts(passages((text, "fleet.md")))
    aliased = {f.answer: f.aliased for f in facts}
    assert "Under Fleet, for how many cars is the flagship certified?" in aliased["36 cars"]
    assert any("Where does the flagship lie overnight" in q for q in aliased["Berth 1"])
    assert "Within how many days does the Terminal Manager answer complaints?" in aliased["within 10 days"]
    assert any("the relief vessel" in q for q in aliased["150 passengers"])
    assert not aliased["£4.50"]  # "the Marram Queen service" is no vessel
    assert not any("the passenger-only launch is a passenger-only launch" in q for q in aliased["96 passengers"])
    assert not aliased["12 keys"]  # "the fire wardens" are two people
    rows = qa_items([f for f in facts if f.answer == "36 cars"], "train", reword=False)
    assert rows[0]["aliased"] == aliased["36 cars"]


def test_a_question_with_two_answers_in_its_document_is_asked_of_neither():
    """"Marram Queen lies overnight on Berth 1 at Ferrier's Quay." gives "Where does Marram Queen lie?" two right
    answers: that phrasing goes, the ones that tell the two apart stay."""
    text = "# Berths\n\nMarram Queen lies overnight on Berth 1 at Ferrier's Quay.\n"
    facts = generate_facts(passages((text, "berths.md")))
    by_question: dict[str, set] = {}
    for f in facts:
        for q in f.questions:
            by_question.setdefault(q, set()).add(f.answer)
    assert "Where does Marram Queen lie?" not in by_question
    assert all(len(answers) == 1 for answers in by_question.values())
    assert any(f.answer == "Berth 1" for f in facts)


def test_a_which_clause_after_a_participle_set_off_by_commas_is_said_of_the_noun_before_it():
    """"the MV Aske Lantern, built in 2011 at the Brannock yard, which carries 42 cars": the parser hangs the clause
    on the yard; the ship carries the cars."""
    text = ("# Fleet\n\nThe flagship is the MV Aske Lantern, built in 2011 at the Brannock yard, which carries up to "
            "310 passengers and 42 cars.\n")
    facts = generate_facts(passages((text, "fleet.md")))
    asked = {f.answer: f for f in facts}
    assert asked["42 cars"].questions[0] == "The MV Aske Lantern carries how many cars?"
    assert "The flagship carries how many cars?" in asked["42 cars"].aliased
    assert not any("Brannock yard carries" in q for f in facts for q in f.questions)


def test_a_name_classified_or_measured_is_not_given_another_name():
    """"Kestrel Loom is a private company ... a hybrid company" classifies it; "a ten-minute walk" measures a
    distance; "the last leaves Pennick Slip" is a misparsed verb: none of them names a thing."""
    text = ("# Company\n\nKestrel Loom is a private company. Kestrel Loom is a hybrid company. Kestrel Loom pays 50% "
            "of family cover.\n\nThe Weaving Shed is a ten-minute walk from the station. The Weaving Shed opens at "
            "07:00.\n\nThe first sailing leaves at 06:30 and the last leaves Pennick Slip at 21:15. Pennick Slip "
            "has 60 seats.\n")
    facts = generate_facts(passages((text, "company.md")))
    assert {f.answer for f in facts} >= {"50%", "07:00", "60 seats"}
    assert not any(f.aliased for f in facts)
