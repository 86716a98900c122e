"""The numbers behind a Decide verdict: intervals, break-even, the verdict text, and the budget plan."""

import re

import pytest

from workbench.decide.plan import MAX_QA_REPEATS, BudgetError, Speed, make_plan, refit_repeats
from workbench.decide.verdict import (bootstrap_ci, break_even_queries, cost_curve, decide,
                                      paired_difference_ci)


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_questions():
    few = {"rag": [1, 0] * 10}
    many = {"rag": [1, 0] * 200}
    lo_few, hi_few = bootstrap_ci(few)["rag"]
    lo_many, hi_many = bootstrap_ci(many)["rag"]
    assert lo_few < 0.5 < hi_few and lo_many < 0.5 < hi_many
    assert hi_many - lo_many < (hi_few - lo_few) / 2


def test_paired_difference_sees_a_consistent_lead_and_not_noise():
    better = [1] * 30 + [0] * 10
    worse = [1] * 10 + [0] * 30
    assert paired_difference_ci(better, worse)[0] > 0
    same = [1, 0] * 20
    lo, hi = paired_difference_ci(same, list(reversed(same)))
    assert lo < 0 < hi


def test_break_even_is_training_time_over_per_query_saving():
    assert break_even_queries(600, arm_query_ms=1000, rag_query_ms=3000) == 300  # 600 s / 2 s saved per query
    assert break_even_queries(600, arm_query_ms=3000, rag_query_ms=2000) is None  # slower than rag: never
    assert cost_curve(60, 500, [0, 10, 100]) == [60.0, 65.0, 110.0]


def test_verdict_names_a_clear_winner_with_its_lead_and_cost():
    scores = {"base": [0] * 40, "rag": [1] * 12 + [0] * 28, "lora": [1] * 4 + [0] * 36, "raft": [1] * 30 + [0] * 10}
    v = decide(scores, {"lora": 5.0, "raft": 6.0}, {"base": 900, "rag": 2000, "lora": 800, "raft": 2500},
               {"lora": 250, "raft": None})
    assert v.winner == "raft" and not v.tied_with
    assert "+45 points over rag" in v.text and "6.0 min of training" in v.text and "never pays back" in v.text


def test_verdict_says_so_when_the_top_arms_are_within_their_intervals():
    a = [1, 0, 1, 0, 1, 0, 0, 1, 1, 0] * 3
    b = [0, 1, 1, 0, 1, 0, 1, 0, 1, 1] * 3  # raft ahead by 10 points: within the interval on 30 questions
    v = decide({"rag": a, "raft": b, "base": [0] * 30}, {"raft": 6.0}, {"rag": 2000, "raft": 2100, "base": 900}, {})
    assert v.winner == "raft" and v.tied_with == ["rag"] and not v.clear
    assert "Best measured: raft" in v.text and "not clear" in v.text
    assert "rag is the cheaper choice" in v.text  # no training beats training when tied


def test_plan_fits_the_budget_and_reports_its_choices():
    speed = Speed(train_tokens_per_s=400, eval_s_per_question=4.0)
    plan = make_plan(20, elapsed_s=60, test_available=80, qa_tokens=8_000, doc_tokens=15_000,
                     raft_tokens_per_epoch=60_000, speed=speed)
    spent = plan.lora_seconds + plan.raft_seconds + plan.eval_seconds + 60
    assert spent <= 20 * 60 * 1.01
    assert 12 <= plan.test_questions <= 80 and plan.lora_qa_repeats >= 2 and plan.raft_epochs >= 0.5
    assert plan.lora_doc_repeats >= 1 and any("seen" in n for n in plan.notes)


def test_the_refit_repeats_as_often_as_its_time_holds_and_its_limit_ends_it():
    # a repeat: 1,000 tokens of held-out facts' questions and half of 2,000 of training questions
    assert refit_repeats(20_000, 1_000, 2_000) == (10, MAX_QA_REPEATS / 10)  # epochs up to the most repeats
    assert refit_repeats(19_999, 1_000, 2_000)[0] == 9  # whole repeats only
    assert refit_repeats(10**7, 1_000, 2_000) == (MAX_QA_REPEATS, 1.0)
    assert refit_repeats(10, 1_000, 2_000) == (1, MAX_QA_REPEATS)  # the held-out facts are taught at least once


def test_the_refit_comes_out_of_loras_time_and_only_where_it_fits():
    speed = Speed(train_tokens_per_s=400, eval_s_per_question=4.0)
    sizes = dict(elapsed_s=60, test_available=80, qa_tokens=16_000, doc_tokens=15_000, raft_tokens_per_epoch=60_000,
                 speed=speed)
    alone, refit = make_plan(20, **sizes), make_plan(20, **sizes, recall_tokens=3_000)
    assert alone.refit_seconds == 0 and refit.refit_seconds > 0
    assert refit.lora_qa_repeats < alone.lora_qa_repeats and refit.raft_epochs == alone.raft_epochs
    assert refit.lora_seconds + refit.refit_seconds <= alone.lora_seconds + 1
    assert any("refit" in n and f"seen about {refit.lora_qa_repeats}×" in n for n in refit.notes)
    # at the smallest budget lora sees everything once: no time for a refit
    tight = make_plan(alone.min_budget_minutes, **sizes, recall_tokens=3_000)
    assert tight.refit_seconds == 0 and tight.lora_qa_repeats >= 1


def test_time_an_adapter_cannot_use_goes_to_the_other():
    """raft continuing the reader trains at most two epochs (the stage's cap), so the plan gives the rest to lora
    and says two; a small corpus whose lora is at its most repeats gives its spare time to raft."""
    speed = Speed(train_tokens_per_s=300, eval_s_per_question=2.0)
    small = dict(elapsed_s=60, test_available=36, qa_tokens=2_300, doc_tokens=2_200, raft_tokens_per_epoch=27_000,
                 speed=speed, recall_tokens=1_100)
    fresh, reader = make_plan(20, **small), make_plan(20, **small, raft_from_reader=True)
    assert fresh.raft_epochs == 3.0 and reader.raft_epochs == 2.0
    assert reader.lora_qa_repeats == fresh.lora_qa_repeats == 24  # lora was at its most already
    assert any("2.00 epochs" in n for n in reader.notes)
    # a large corpus: lora's share buys repeats; raft keeps at least half an epoch
    large = dict(small, test_available=83, qa_tokens=8_100, doc_tokens=7_500, raft_tokens_per_epoch=97_000,
                 recall_tokens=2_700)
    plan = make_plan(20, **large, raft_from_reader=True)
    assert plan.raft_epochs >= 0.5 and plan.lora_qa_repeats > 10
    assert plan.lora_seconds + plan.refit_seconds > 1.5 * plan.raft_seconds


def test_plan_refuses_a_budget_too_small_and_says_how_much_is_needed():
    speed = Speed(train_tokens_per_s=100, eval_s_per_question=8.0)
    with pytest.raises(BudgetError, match=r"too small .* at least \d+ min"):
        make_plan(2, elapsed_s=60, test_available=50, qa_tokens=20_000, doc_tokens=30_000,
                  raft_tokens_per_epoch=80_000, speed=speed)


@pytest.mark.parametrize("budget, elapsed, available, eval_s", [(8, 100, 15, 10.0), (6, 60, 40, 8.0), (30, 300, 90, 12.0)])
def test_a_budget_the_error_names_is_enough(budget, elapsed, available, eval_s):
    """The minutes a refusal asks for make a plan (a run on an 8-minute budget was refused as needing 6 minutes:
    the evaluation's share alone was under the 12-question minimum)."""
    speed = Speed(train_tokens_per_s=120, eval_s_per_question=eval_s)
    sizes = dict(elapsed_s=elapsed, test_available=available, qa_tokens=4_000, doc_tokens=9_000,
                 raft_tokens_per_epoch=30_000, speed=speed)
    try:
        plan = make_plan(budget, **sizes)
    except BudgetError as exc:
        needed = int(re.search(r"at least (\d+) min", str(exc)).group(1))
        assert needed > budget, str(exc)
        plan = make_plan(needed, **sizes)
        budget = needed
    assert plan.test_questions >= min(12, available) and plan.raft_epochs >= 0.5
    assert plan.lora_seconds + plan.raft_seconds + plan.eval_seconds + elapsed <= budget * 60 * 1.01


def test_a_break_even_says_when_the_arm_answers_fewer_questions_than_rag():
    from workbench.decide.report import markdown

    arm = {"f1": 0.1, "ci95": [0.0, 0.5], "total_p50_ms": 1000, "prompt_tokens": 40, "peak_memory_mib": 900,
           "training_minutes": 1.0}
    report = {"corpus": "c", "verdict": "v", "questions": 12, "memory_kind": "cpu_peak_rss", "plan_notes": [],
              "qa": {}, "break_even_queries": {"lora": 30, "raft": 40},
              "cost_curve": {"queries": [0, 100], "rag": [0, 300], "lora": [60, 160], "raft": [60, 170]},
              "summary": {"rag": {**arm, "contains": 0.5, "training_minutes": 0.0}, "lora": {**arm, "contains": 0.0},
                          "raft": {**arm, "contains": 0.5}}}
    text = markdown(report)
    assert "- lora: training is repaid after ~30 queries compared with rag (compute only: it answered 0 % of the " \
           "questions, rag 50 %)" in text
    assert "- raft: training is repaid after ~40 queries compared with rag\n" in text


def test_a_handful_of_questions_never_gives_a_clear_verdict_and_says_how_wide_it_is():
    from workbench.decide.verdict import resolvable_points, sign_test_p

    # 3 of 3 against 0 of 3: the bootstrap resamples to +100 to +100, the exact sign test says p = 0.25
    v = decide({"rag": [1, 1, 1], "base": [0, 0, 0]}, {}, {"rag": 2000, "base": 900}, {})
    assert v.winner == "rag" and v.tied_with == ["base"] and "not clear" in v.text
    assert sign_test_p([1, 1, 1], [0, 0, 0]) == 0.25 and sign_test_p([1] * 6, [0] * 6) < 0.05
    assert any("3 test questions: differences under ~80 points" in r for r in v.reasons)
    assert [resolvable_points(n) for n in (6, 12, 30, 120)] == [55, 40, 25, 15]


def test_the_cost_chart_ends_past_the_break_even_and_shows_the_training_cost():
    from workbench.decide.verdict import chart_queries

    queries = chart_queries({"rag": 0, "lora": 300, "raft": 360}, {"rag": 2000, "lora": 1500, "raft": 2500},
                            {"lora": 600, "raft": None})
    assert queries[0] == 0 and 600 in queries and max(queries) == 1000  # 1.5 × 600, rounded up to a round number
    assert len(queries) <= 8
    never = chart_queries({"rag": 0, "raft": 300}, {"rag": 2000, "raft": 2500}, {"raft": None})
    assert max(never) == 500  # rag's queries reach twice the training time at 300 queries: the gap stays visible


def test_the_plan_times_documents_and_raft_at_their_own_measured_speeds():
    sizes = dict(elapsed_s=60, test_available=80, qa_tokens=8_000, doc_tokens=15_000, raft_tokens_per_epoch=60_000)
    one = make_plan(20, **sizes, speed=Speed(train_tokens_per_s=300, eval_s_per_question=4.0))
    kinds = make_plan(20, **sizes, speed=Speed(train_tokens_per_s=300, eval_s_per_question=4.0,
                                               doc_tokens_per_s=150, raft_tokens_per_s=450))
    # raft's examples train half as fast again: more epochs in the same share of the time
    assert kinds.raft_epochs == pytest.approx(one.raft_epochs * 1.5, rel=0.02)
    # slower documents leave lora's time fewer question repeats
    assert kinds.lora_qa_repeats < one.lora_qa_repeats
    assert any("150 on documents" in n and "450 on raft" in n for n in kinds.notes)
    # a run recorded before the probe timed each kind plans as it did: one speed for all
    assert Speed(train_tokens_per_s=300, eval_s_per_question=4.0).raft == 300
