"""Waiting in system tests: poll a condition with a deadline, instead of sleeping for a guessed time."""
import time


def wait_for(predicate, timeout=240, every=0.5):
    "Poll `predicate` until it returns something truthy, and return that; fail after `timeout` seconds."
    t0 = time.time()
    while time.time() - t0 < timeout:
        if (v := predicate()): return v
        time.sleep(every)
    raise TimeoutError(f"gave up after {timeout} s")
