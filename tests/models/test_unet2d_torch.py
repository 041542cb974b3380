"""The torch-only ``UNet2DModel`` (:mod:`rdptheory.models.unet2d_torch`) against diffusers' own
class: the same parameter names, the same fingerprint and bitwise the same outputs (the chain
replay of a file depends on every bit), on the shipped weights and on random networks."""

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from rdptheory.models import default_model_path, shipped_network  # noqa: E402
from rdptheory.models._torch_common import (  # noqa: E402
    fixed_torch_threads,
    module_fingerprint,
)
from rdptheory.models.diffusers_models import PixelDiffusionModel  # noqa: E402
from rdptheory.models.unet2d_torch import (  # noqa: E402
    UNet2DModel,
    check_config,
    load_unet2d,
)

#: Random networks covering the options the torch copy supports: attention in the mid block
#: or not, head size None, several layers, an odd embedding, a frequency shift, no flip, a
#: mid-block scale, other group counts, a time-embedding size, a 1x1 shortcut in every block.
RANDOM_CONFIGS = [
    dict(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
         attention_head_dim=4),
    dict(block_out_channels=(8, 16, 16), layers_per_block=2, norm_num_groups=8,
         attention_head_dim=None, freq_shift=1, flip_sin_to_cos=False,
         mid_block_scale_factor=2.0, time_embedding_dim=24, norm_eps=1e-6),
    dict(block_out_channels=(6, 12), layers_per_block=1, norm_num_groups=3,
         add_attention=False),
]


def _diffusers_unet(seed: int, **kw):
    torch.manual_seed(seed)
    n = len(kw["block_out_channels"])
    return diffusers.UNet2DModel(sample_size=16, in_channels=3, out_channels=3,
                                 down_block_types=("DownBlock2D",) * n,
                                 up_block_types=("UpBlock2D",) * n, **kw).eval()


def _outputs_equal(a, b, shape, threads, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    t = torch.rand(shape[0], generator=g) * 1000.0
    with fixed_torch_threads(threads):
        ya, yb = a(x, t).sample, b(x, t).sample
    return ya.shape == yb.shape and torch.equal(ya, yb)


@pytest.fixture(scope="module")
def shipped_pair():
    d = default_model_path()
    ref = diffusers.UNet2DModel.from_pretrained(d, local_files_only=True,
                                                low_cpu_mem_usage=False).eval()
    return load_unet2d(d), ref


def test_shipped_network_has_diffusers_names_and_fingerprint(shipped_pair):
    mine, ref = shipped_pair
    assert type(mine).__name__ == "UNet2DModel" and not mine.training
    assert list(mine.state_dict()) == list(ref.state_dict())
    assert all(torch.equal(v, ref.state_dict()[k]) for k, v in mine.state_dict().items())
    assert module_fingerprint(mine) == module_fingerprint(ref)
    assert mine.config.in_channels == 3 and mine.config["block_out_channels"] == [32, 64, 64]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(1, 3, 16, 16), (2, 3, 24, 40), (1, 3, 64, 48)])
def test_shipped_network_outputs_are_bitwise_diffusers(shipped_pair, shape, threads):
    # (2, 3, 24, 40) sends every 3x3 convolution to oneDNN on 2 threads; 64x48 runs the
    # mid-block attention over 192 positions with the flash kernel
    assert _outputs_equal(*shipped_pair, shape, threads)


@pytest.mark.parametrize("index", range(len(RANDOM_CONFIGS)))
def test_random_networks_round_trip_through_save_pretrained_bitwise(index, tmp_path):
    ref = _diffusers_unet(index, **RANDOM_CONFIGS[index])
    ref.save_pretrained(tmp_path)
    mine = load_unet2d(tmp_path)
    assert module_fingerprint(mine) == module_fingerprint(ref)
    for threads in (1, 2):
        assert _outputs_equal(mine, ref, (2, 3, 16, 24), threads, seed=index)


def test_scalar_and_python_timesteps_broadcast_like_diffusers(shipped_pair):
    mine, ref = shipped_pair
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    with fixed_torch_threads(1):
        for t in (torch.tensor(412.5), 7):
            assert torch.equal(mine(x, t).sample, ref(x, t).sample)


def test_the_adapter_gives_the_same_model_through_either_implementation():
    d = default_model_path()
    fast = PixelDiffusionModel(d, implementation="torch")
    slow = PixelDiffusionModel(d, implementation="diffusers")
    assert fast.fingerprint() == slow.fingerprint() == shipped_network().fingerprint()
    y = np.random.default_rng(1).normal(size=(1, 3, 20, 28))
    assert fast.denoise(y, 0.3).tobytes() == slow.denoise(y, 0.3).tobytes()
    with pytest.raises(ValueError, match="implementation must be one of"):
        PixelDiffusionModel(d, implementation="jax")


@pytest.mark.parametrize("change, match", [
    ({"down_block_types": ["AttnDownBlock2D", "DownBlock2D"]}, "DownBlock2D/UpBlock2D"),
    ({"time_embedding_type": "fourier"}, "time_embedding_type"),
    ({"num_class_embeds": 10}, "num_class_embeds"),
    ({"resnet_time_scale_shift": "scale_shift"}, "resnet_time_scale_shift"),
    ({"_class_name": "UNet2DConditionModel"}, "_class_name"),
    ({"block_out_channels": [8]}, "same positive length"),
    ({"downsample_padding": 0}, "downsample_padding"),
    ({"norm_num_groups": None}, "norm_num_groups"),
])
def test_unsupported_configs_are_refused(change, match):
    base = {"block_out_channels": [8, 16], "down_block_types": ["DownBlock2D"] * 2,
            "up_block_types": ["UpBlock2D"] * 2}
    with pytest.raises(ValueError, match=match):
        check_config(base | change)
    with pytest.raises(TypeError, match="mapping"):
        check_config([("a", 1)])


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_unet2d(tmp_path)
    ref = _diffusers_unet(0, **RANDOM_CONFIGS[0])
    ref.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["layers_per_block"] = 2  # the weights have one layer per block
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="does not match its config.json"):
        load_unet2d(tmp_path)
    assert isinstance(UNet2DModel(cfg), torch.nn.Module)


_NO_DIFFUSERS = r"""
import sys
import numpy as np
from rdptheory.models import load_default
m = load_default()
m.denoise(np.zeros((1, 3, 8, 8)), 0.5)
loaded = sorted(k for k in sys.modules if k.split('.')[0] == 'diffusers' or k == 'torch._dynamo')
assert not loaded, loaded
print('ok')
"""


def test_the_default_model_loads_and_runs_without_importing_diffusers():
    out = subprocess.run([sys.executable, "-c", _NO_DIFFUSERS], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("old", [(False, False), (True, True)])
def test_model_calls_set_and_restore_the_deterministic_flag(old):
    # fixed_torch_threads sets the flag without torch.use_deterministic_algorithms (which
    # imports torch._inductor); the caller's setting, warn_only included, comes back after
    torch.use_deterministic_algorithms(old[0], warn_only=old[1])
    try:
        with fixed_torch_threads(1):
            assert torch.are_deterministic_algorithms_enabled()
            assert not torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.are_deterministic_algorithms_enabled() == old[0]
        assert torch.is_deterministic_algorithms_warn_only_enabled() == old[1]
    finally:
        torch.use_deterministic_algorithms(False)
