"""rdptheory.rcc step paths: exact messages, the largest chunk count, decoder failures.

Mutation testing (issue 10) left these unchecked: the name in the step reader's ``dims`` check,
the format's largest step (``MAX_DIMS = 2**24 - 1`` chunks, written and read back without
allocating its indices), and the message of a payload the range decoder rejects with a
non-``ValueError`` (constriction signals garbage with ``AssertionError``/``RuntimeError``).
Every expected message is written out here by hand.
"""

import re

import numpy as np
import pytest

from rdptheory import rcc
from rdptheory.rcc import _format as fmt
from rdptheory.rcc import stream

MAX_DIMS = 2**24 - 1  # the format's largest state dimension (and step chunk count)


def exact(msg: str) -> str:
    """A pattern matching ``msg`` and nothing longer or shorter."""
    return "^" + re.escape(msg) + "$"


def test_step_reader_names_dims_exactly():
    w = rcc.RCCStreamWriter(8.0)
    w.add(np.array([5]))
    r = rcc.RCCStreamReader(w.to_bytes())
    with pytest.raises(ValueError, match=exact("dims must be >= 1, got 0")):
        r.read_step(0)
    with pytest.raises(ValueError, match=exact(f"dims must be <= {MAX_DIMS}, got {MAX_DIMS + 1}")):
        r.read_step(MAX_DIMS + 1)
    assert r.read_step(1).tolist() == [5]


class _Recorder:
    """Stands in for write_indices: records how many indices the step would append."""

    def __init__(self):
        self.sizes = []

    def __call__(self, enc, idx, model):
        self.sizes.append(int(np.size(idx)))


@pytest.mark.parametrize("count", [1, 2, 3, 2**23, 2**23 + 1, MAX_DIMS])
def test_write_step_count_round_trips_up_to_max_dims(monkeypatch, count):
    # zero-stride indices: a 2^24 - 1 chunk step without 128 MiB of int64
    rec = _Recorder()
    monkeypatch.setattr(fmt, "write_indices", rec)
    enc = fmt.new_encoder()
    fmt.write_step(enc, np.broadcast_to(np.int64(0), (count,)), rcc.RCCStreamWriter(8.0).model)
    assert rec.sizes == [count]
    dec = fmt.new_decoder(enc.get_compressed().astype("<u4").tobytes())
    assert fmt.read_step_count(dec, MAX_DIMS) == count


@pytest.mark.parametrize("count", [0, MAX_DIMS + 1])
def test_write_step_refuses_counts_outside_the_format(monkeypatch, count):
    monkeypatch.setattr(fmt, "write_indices", _Recorder())
    msg = f"a step needs between 1 and {MAX_DIMS} chunks, got {count}"
    with pytest.raises(ValueError, match=exact(msg)):
        fmt.write_step(fmt.new_encoder(), np.broadcast_to(np.int64(0), (count,)),
                       rcc.RCCStreamWriter(8.0).model)


@pytest.mark.parametrize("exc", [AssertionError("bad word"), RuntimeError("range")])
def test_read_steps_names_a_payload_that_does_not_decode(monkeypatch, exc):
    def failing_count(dec, dims, history=()):
        raise exc

    monkeypatch.setattr(fmt, "read_step_count", failing_count)
    msg = f"corrupted RCC step stream: payload does not decode ({exc!r})"
    with pytest.raises(ValueError, match=exact(msg)) as info:
        stream.read_steps(bytes(8), 1, 4, 8.0)
    assert info.value.__cause__ is exc
