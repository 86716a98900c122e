"""ui.background: a run in a thread, handed over item by item, stopped with the generator that hands it over."""

import threading
import time
from contextlib import closing

import pytest

from workbench.ui.background import WAITING, in_background


def test_items_arrive_in_order_with_waiting_between_slow_ones():
    def produce(stop):
        yield 1
        time.sleep(0.3)
        yield 2

    assert [x for x in in_background(produce, wait_s=0.1) if x is not WAITING] == [1, 2]
    assert WAITING in list(in_background(produce, wait_s=0.1))


def test_an_error_of_the_work_is_raised_to_the_consumer():
    def produce(stop):
        yield 1
        raise ValueError("unknown corpus 'x'")

    with pytest.raises(ValueError, match="unknown corpus"):
        list(in_background(produce))


def test_closing_the_consumer_stops_the_work_and_a_slow_consumer_holds_it_back():
    made, stopped = [], threading.Event()

    def produce(stop):
        try:
            for i in range(1000):
                made.append(i)
                yield i
        finally:  # closed by the thread, or ended by `stop`
            stopped.set()

    with closing(in_background(produce, wait_s=0.05)) as run:
        assert next(run) == 0
        time.sleep(0.3)
        assert len(made) <= 3  # one item taken, one waiting to be handed over, one being made at most
    assert stopped.wait(2) and len(made) <= 3
