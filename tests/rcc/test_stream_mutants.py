"""rdptheory.rcc.stream.read_steps: input checks and the payload budget guard (kills mutants).

The budget rule is the docstring's: before reading step s's indices, the bits already declared
(every step at least ``MIN_STEP_BITS``, every chunk at least ``min_chunk_bits(B)``) plus
``MIN_STEP_BITS`` for each step still to come must not exceed ``8 * len(payload) + 64``. It is
checked here against a fake step coder that declares chosen chunk counts, so the expected
failing step is computed by hand from the rule, over a grid of counts fine enough that some
totals land within one bit of the budget (``make mutants MUTANTS='rdptheory.rcc.stream*'``).
"""

import math

import numpy as np
import pytest

from rdptheory.rcc import _format as fmt
from rdptheory.rcc import stream

MAX_DIMS = 2**24 - 1  # the format's largest state dimension
WHAT = "corrupted RCC step stream"


def test_min_step_bits_is_the_cheapest_count_code():
    assert fmt.MAX_DIMS == MAX_DIMS
    # a whole count's bucket is uniform on 24 values (count <= 2^24 - 1); a count difference
    # costs at least its likeliest bucket under the difference law
    assert stream.MIN_STEP_BITS == min(math.log2(24), -math.log2(fmt.STEP_DELTA_LAW.max()))
    assert stream.MIN_STEP_BITS == -math.log2(fmt.STEP_DELTA_LAW.max())


def test_payload_must_be_whole_words():
    for size in (1, 2, 3, 5):
        with pytest.raises(ValueError, match=rf"^{WHAT}: payload is not whole 32-bit words$"):
            stream.read_steps(bytes(size), 1, 4, 8.0)


def test_n_steps_and_dims_checks():
    assert stream.read_steps(b"", 0, 5, 8.0) == []
    assert stream.read_steps(b"", 0, [5, 6], 8.0) == []
    with pytest.raises(ValueError, match=r"^n_steps must be >= 0, got -1$"):
        stream.read_steps(b"", -1, 5, 8.0)
    for dims in (0, [3, 0]):
        with pytest.raises(ValueError, match=r"^dims must be >= 1, got 0$"):
            stream.read_steps(b"", 0, dims, 8.0)
    for dims in (MAX_DIMS + 1, [MAX_DIMS + 1]):
        with pytest.raises(ValueError, match=rf"^dims must be <= {MAX_DIMS}, got {MAX_DIMS + 1}$"):
            stream.read_steps(b"", 0, dims, 8.0)
    # the bounds themselves are accepted
    assert stream.read_steps(b"", 0, MAX_DIMS, 8.0) == []
    assert stream.read_steps(b"", 0, [1, MAX_DIMS], 8.0) == []


def test_one_coordinate_steps_round_trip():
    payload = stream.write_steps([[3], [0], [17]], 8.0)
    got = stream.read_steps(payload, 3, 1, 8.0)
    assert [g.tolist() for g in got] == [[3], [0], [17]]
    got = stream.read_steps(payload, 2, [1, 1, 1], 8.0)
    assert [g.tolist() for g in got] == [[3], [0]]


class FakeCoder:
    """Declares ``counts`` (one per step) and returns index arrays 0..n-1; records the dims."""

    def __init__(self, counts):
        self.counts, self.dims = list(counts), []

    def count(self, dec, dims, history=()):
        assert list(history) == self.counts[: len(self.dims)]  # the earlier steps' counts
        self.dims.append(dims)
        return self.counts[len(self.dims) - 1]

    def indices(self, dec, n, model):
        return np.arange(n)


def expected_failure(counts, payload_bytes, per_chunk):
    """(step, count) of the first step the budget rule refuses, or None."""
    budget = 8 * payload_bytes + 64
    n_steps, spent = len(counts), 0.0
    for step, n in enumerate(counts):
        spent += stream.MIN_STEP_BITS + n * per_chunk
        if spent + (n_steps - step - 1) * stream.MIN_STEP_BITS > budget:
            return step, n
    return None


def grid(per_chunk):
    """Counts of 1 to 4 steps whose totals sweep past both budgets (64 and 96 bits)."""
    top = int(100 / per_chunk) + 2
    return ([[c] for c in range(1, top)] + [[c, 1] for c in range(1, top)]
            + [[1, c] for c in range(1, top)] + [[c, c, 1] for c in range(1, top // 2)]
            + [[2, 1, c, 3] for c in range(1, top)] + [[1] * k for k in range(1, 21)])


@pytest.mark.parametrize("max_chunk_bits", [0.05, 8.0])
def test_budget_guard_refuses_exactly_the_steps_the_rule_refuses(monkeypatch, max_chunk_bits):
    per_chunk = stream.min_chunk_bits(max_chunk_bits)
    near = 0
    for counts in grid(per_chunk):
        for payload_bytes in (0, 4):
            fake = FakeCoder(counts)
            monkeypatch.setattr(fmt, "read_step_count", fake.count)
            monkeypatch.setattr(fmt, "read_step_indices", fake.indices)
            budget = 8 * payload_bytes + 64
            total = len(counts) * stream.MIN_STEP_BITS + sum(counts) * per_chunk
            near += budget - 1.0 < total <= budget
            if len(counts) * stream.MIN_STEP_BITS > budget:
                continue
            fail = expected_failure(counts, payload_bytes, per_chunk)
            dims = [c + 1 for c in counts]
            if fail is None:
                got = stream.read_steps(bytes(payload_bytes), len(counts), dims, max_chunk_bits)
                assert [g.tolist() for g in got] == [list(range(c)) for c in counts]
                assert fake.dims == dims
            else:
                step, n = fail
                with pytest.raises(ValueError, match=rf"^{WHAT}: step {step} declares {n} "
                                   rf"chunks, more than {payload_bytes} payload bytes can hold$"):
                    stream.read_steps(bytes(payload_bytes), len(counts), dims, max_chunk_bits)
                assert fake.dims == dims[: step + 1]
    assert near >= 2  # the grid passes within 1 bit of a budget (spent starts at 0)


def test_too_many_steps_for_the_payload():
    # 25 steps need 25 x 2.634 = 65.9 bits > 64 (empty payload); 24 need 63.2.
    assert 24 * stream.MIN_STEP_BITS <= 64 < 25 * stream.MIN_STEP_BITS
    assert 36 * stream.MIN_STEP_BITS <= 96 < 37 * stream.MIN_STEP_BITS
    with pytest.raises(ValueError, match=rf"^{WHAT}: 25 steps do not fit in 0 payload bytes$"):
        stream.read_steps(b"", 25, 4, 8.0)
    with pytest.raises(ValueError, match=rf"^{WHAT}: 37 steps do not fit in 4 payload bytes$"):
        stream.read_steps(bytes(4), 37, 4, 8.0)


def test_coder_failures_are_named_once(monkeypatch):
    def value_error(dec, dims, history=()):
        raise ValueError("corrupted RCC step: 9 chunks for 5 coordinates")

    def runtime_error(dec, dims, history=()):
        raise RuntimeError("boom")

    monkeypatch.setattr(fmt, "read_step_count", value_error)
    with pytest.raises(ValueError, match=rf"^{WHAT}: corrupted RCC step: 9 chunks for 5 "
                                         r"coordinates$"):
        stream.read_steps(bytes(8), 1, 5, 8.0)
    monkeypatch.setattr(fmt, "read_step_count", runtime_error)
    with pytest.raises(ValueError, match=rf"^{WHAT}: payload does not decode "
                                         r"\(RuntimeError\('boom'\)\)$"):
        stream.read_steps(bytes(8), 1, 5, 8.0)
