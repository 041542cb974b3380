"""_torch_common.concurrent_calls: independent torch calls on worker threads, one intra-op thread
each, the caller's settings restored."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rdptheory.models._torch_common import THREADS_ENV, concurrent_calls  # noqa: E402


def _probe(seed):
    """A GEMM (whose result depends on the thread count) plus what the worker runs with."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(300, 700, generator=g)
    b = torch.randn(700, 200, generator=g)
    return (a @ b).numpy().tobytes(), torch.get_num_threads(), torch.is_grad_enabled()


def _one_thread(seed):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _probe(seed)[0]
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_results_are_the_one_thread_results_in_order(threads):
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(3)  # the caller's own setting, to be restored
    try:
        out = concurrent_calls(_probe, list(range(5)), threads=threads)
        assert torch.get_num_threads() == 3
        assert torch.are_deterministic_algorithms_enabled() == old_det
    finally:
        torch.set_num_threads(old_threads)
    assert [o[0] for o in out] == [_one_thread(s) for s in range(5)]
    assert {o[1] for o in out} == {1} and not any(o[2] for o in out)  # 1 thread, no grad


def test_thread_count_comes_from_the_model_setting(monkeypatch):
    import threading

    seen = []
    monkeypatch.setenv(THREADS_ENV, "2")
    concurrent_calls(lambda _: seen.append(threading.get_ident()), list(range(6)))
    assert 1 <= len(set(seen)) <= 2 and threading.get_ident() not in seen
    seen.clear()
    monkeypatch.setenv(THREADS_ENV, "1")
    concurrent_calls(lambda _: seen.append(threading.get_ident()), list(range(3)))
    assert set(seen) == {threading.get_ident()}  # one worker: the caller's thread, in order
    assert concurrent_calls(lambda x: x, []) == []


def test_an_exception_in_a_call_reaches_the_caller():
    def boom(x):
        if x == 2:
            raise ValueError("call 2 failed")
        return x

    old = torch.get_num_threads()
    with pytest.raises(ValueError, match="call 2 failed"):
        concurrent_calls(boom, [0, 1, 2, 3], threads=2)
    assert torch.get_num_threads() == old
    np.testing.assert_array_equal(concurrent_calls(boom, [0, 1], threads=2), [0, 1])
