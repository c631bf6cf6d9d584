"""The per-key lock of the commit engine hands over in arrival order."""

import threading
import time

from credits.store.atomic import FairLock


def test_waiters_are_served_in_arrival_order() -> None:
    lock = FairLock()
    assert lock.acquire(timeout=1)
    order: list[int] = []

    def waiter(i: int) -> None:
        assert lock.acquire(timeout=5)
        order.append(i)
        lock.release()

    threads = []
    for i in range(8):
        t = threading.Thread(target=waiter, args=(i,))
        t.start()
        threads.append(t)
        # Arrive one after another: wait until this waiter is in the queue (no timing guess).
        while len(lock._waiters) < i + 1:
            time.sleep(0.001)
    lock.release()
    for t in threads:
        t.join()
    assert order == list(range(8))


def test_a_timed_out_waiter_leaves_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(timeout=1)
    assert lock.acquire(timeout=0.05) is False
    lock.release()
    assert lock.acquire(timeout=0.05) is True
    lock.release()


def test_many_threads_never_hold_it_together() -> None:
    lock = FairLock()
    inside = 0
    worst = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, worst
        for _ in range(200):
            assert lock.acquire(timeout=10)
            with guard:
                inside += 1
                worst = max(worst, inside)
            with guard:
                inside -= 1
            lock.release()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert worst == 1
