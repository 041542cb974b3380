"""Golden bitstreams (CompressAI-style): the md5 of a fixed, tiny, seeded encode per codec and
per CPU backend, so that a change of any file format is always deliberate.

If one of these fails and you changed a format on purpose: bump that format's VERSION
(rdptheory.rcc._format, rdptheory.codec._container, rdptheory.images._format), update the md5
and length below, and note the change in CHANGELOG.md. If you did not mean to change the
format, the encoder's output changed by accident: old files will no longer decode the same.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from rdptheory import kernels, rcc

#: (length in bytes, md5) per codec; every backend must produce exactly these bytes.
GOLDEN = {
    "rcc_message": (23, "3f655e349d3d13f1818e042e9ddce500"),  # RCC format version 3
    "rcc_stream": (27, "cbdc9298e96d1d921659239ea2def861"),  # RCC format version 3
    "gaussian_one-shot": (32, "12c3184188203683c7a2ef34d53c0630"),  # RDPG version 4
    "gaussian_progressive": (50, "3aa7f27bd3314a13a0466287a3bb87d7"),  # RDPG version 4
    "image": (57, "29c68e9d06962e7a2dc4ac53662a7c1d"),  # RDPI version 6
    # RDPI version 6, shaped noise (perception ladder, P = 0.5, block DCT; stratified layout)
    "image_shaped": (64, "24741257aa8ca75e80fc6118a0170224"),
    # RDPI version 6 on the former default CodecConfig: ladder preset 0, code dims 3·H·W
    # (short header)
    "image_preset0": (40, "0be999db0eaece7a6530004867944d78"),
    # RDPI version 6 on the default CodecConfig (2026-12-07): ladder preset 1 (25 asinh levels)
    "image_default": (32, "692a4987c6200252f773874086ceeb04"),
}
BACKENDS = ["numpy", "numba", "torch", pytest.param("triton", marks=pytest.mark.slow)]


def _encode(codec: str, backend: str) -> tuple[bytes, object]:
    """(file bytes, the encoder's own reconstruction or None) of the fixed tiny encode."""
    rng = np.random.default_rng(20261206)
    mu_p = rng.normal(size=12)
    if codec == "rcc_message":
        msg = rcc.encode(mu_p + 0.6, 0.5, mu_p, 1.0, seed=11, max_chunk_bits=8.0,
                         backend=backend)
        return msg.to_bytes(), msg
    if codec == "rcc_stream":
        w = rcc.RCCStreamWriter(max_chunk_bits=8.0)
        msgs = [rcc.encode(mu_p * (s + 1) * 0.3, 0.6, mu_p * 0.2, 1.0, seed=11, stream=s,
                           max_chunk_bits=8.0, backend=backend) for s in range(3)]
        for m in msgs:
            w.write(m)
        return w.to_bytes(), msgs
    if codec.startswith("gaussian"):
        from rdptheory.codec import GaussianCodec

        lam = np.array([2.0, 1.0, 0.5, 0.25])
        x = rng.normal(size=(3, 4)) * np.sqrt(lam)
        c = GaussianCodec(lam, 0.3, mode=codec.split("_")[1], steps=2, seed=5,
                          max_chunk_bits=6.0, backend=backend)
        return c.compress(x), None
    from rdptheory.data import bundled_image
    from rdptheory.images.codec import CodecConfig, compress_with_report
    from rdptheory.models import load_model  # the tiled GMM: the golden's model (torch-free)

    img = bundled_image("china").pixels[150:157, 250:255]
    if codec in ("image_default", "image_preset0"):
        preset0 = dict(t_max=10.0, t_min=0.05, n_levels=37) if codec == "image_preset0" else {}
        r = compress_with_report(img, model=load_model("patch-gmm"), noise_var=2.0, seed=3,
                                 config=CodecConfig(backend=backend, **preset0))
        return r.data, r
    shaped = dict(noise="shaped", ladder="perception", perception=0.5) if codec.endswith(
        "shaped") else {}
    r = compress_with_report(img, model=load_model("patch-gmm"), noise_var=0.01, seed=3,
                             config=CodecConfig(backend=backend, n_levels=8, **shaped))
    return r.data, r


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("codec", list(GOLDEN))
def test_golden_bitstream(codec, backend):
    if backend not in kernels.available_backends():
        pytest.skip(f"backend {backend} is not available here")
    data, _ = _encode(codec, backend)
    length, md5 = GOLDEN[codec]
    assert (len(data), hashlib.md5(data).hexdigest()) == (length, md5), (
        f"the {codec} bitstream changed ({len(data)} bytes, md5 {hashlib.md5(data).hexdigest()}"
        f", hex {data.hex()}). If you changed the format on purpose, bump its VERSION, update "
        "GOLDEN in tests/test_golden.py and note it in CHANGELOG.md; otherwise the encoder "
        "changed its output by accident.")


def test_golden_files_decode_to_the_encoders_own_state():
    """The decoder reproduces what the encoder knows it sent, bit for bit (not decoder vs
    decoder)."""
    from rdptheory.images import _format
    from rdptheory.images.codec import _replay
    from rdptheory.models import load_model

    data, msg = _encode("rcc_message", "numpy")
    mu_p = np.random.default_rng(20261206).normal(size=12)
    z = rcc.decode(data, mu_p, 1.0, seed=11, backend="numpy")
    assert np.array_equal(z, msg.sample)
    data, msgs = _encode("rcc_stream", "numpy")
    reader = rcc.RCCStreamReader(data)
    for s, m in enumerate(msgs):
        z = reader.read(mu_p * 0.2, 1.0, seed=11, stream=s, backend="numpy")
        assert np.array_equal(z, m.sample)
    for codec in ("image", "image_shaped", "image_default", "image_preset0"):
        data, report = _encode(codec, "numpy")
        stream = _format.unpack_stream(data)
        y = _replay(stream, load_model("patch-gmm"), stream.header.n_steps, "numpy")
        assert np.array_equal(y, report.state)
