"""Perceptual metrics: random weights written in the published files' key layouts and loaded
through the same path as real ones; the metrics' known properties; FID/KID against closed
forms and a hand computation."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rdptheory.metrics import perceptual as P  # noqa: E402


def _backbone_file(path, features):
    """A torchvision-style file: features.{i}.* plus classifier keys the loader must ignore."""
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(2, 2)
    torch.save(state, path)


@pytest.fixture(scope="module")
def lpips_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("lpips")
    torch.manual_seed(0)
    for net, fname in (("alex", "alexnet-owt-7be5be79.pth"), ("vgg", "vgg16-397923af.pth")):
        m = P._build_lpips(net)
        _backbone_file(d / fname, m.features)
        heads = {k: v.abs() for k, v in m.state_dict().items() if k.startswith("lin")}
        assert all(k.endswith(".model.1.weight") for k in heads)
        torch.save(heads, d / f"{net}.pth")
    return d


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-40, 41, x.shape), 0, 255).astype(np.uint8)
    return x, y


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_loads_and_behaves(lpips_dir, images, net, monkeypatch):
    monkeypatch.setenv(P.ENV_LPIPS, str(lpips_dir))
    m = P.load_lpips(net=net)  # from the environment variable
    x, y = images
    same = P.lpips(m, x, x)
    np.testing.assert_allclose(same, 0.0, atol=1e-12)
    d_xy, d_yx = P.lpips(m, x, y), P.lpips(m, y, x)
    np.testing.assert_allclose(d_xy, d_yx, rtol=1e-5)
    assert (d_xy > 0).all()
    # the loaded head weights are those of the file
    w = torch.load(lpips_dir / f"{net}.pth")["lin0.model.1.weight"]
    assert torch.equal(m.lin0["model"][1].weight, w)


def test_lpips_errors(lpips_dir, tmp_path, monkeypatch):
    monkeypatch.delenv(P.ENV_LPIPS, raising=False)
    with pytest.raises(FileNotFoundError, match="lpips-weights"):
        P.load_lpips()
    with pytest.raises(FileNotFoundError, match="never downloads"):
        P.load_lpips(tmp_path / "nope")
    with pytest.raises(ValueError, match="net"):
        P.load_lpips(lpips_dir, net="squeeze")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "alexnet-x.pth").write_bytes((lpips_dir / "alexnet-owt-7be5be79.pth").read_bytes())
    torch.save({"lin0.model.1.weight": torch.zeros(1, 3, 1, 1)}, bad / "alex.pth")
    with pytest.raises((ValueError, RuntimeError)):
        P.load_lpips(bad)


def test_dists_loads_and_behaves(lpips_dir, tmp_path, images):
    d = tmp_path / "dists"
    d.mkdir()
    (d / "vgg16-397923af.pth").write_bytes((lpips_dir / "vgg16-397923af.pth").read_bytes())
    g = torch.Generator().manual_seed(1)
    n = sum(P.DISTS_CHANNELS)
    torch.save({"alpha": torch.rand(1, n, 1, 1, generator=g),
                "beta": torch.rand(1, n, 1, 1, generator=g)}, d / "weights.pt")
    m = P.load_dists(d)
    x, y = images
    np.testing.assert_allclose(P.dists(m, x, x), 0.0, atol=1e-6)
    np.testing.assert_allclose(P.dists(m, x, y), P.dists(m, y, x), rtol=1e-5)
    assert (P.dists(m, x, y) > 0).all()


@pytest.mark.slow  # a 299x299 Inception forward on random weights: ~1 min on 2 busy cores
def test_inception_loads_and_fid_of_a_set_with_itself(tmp_path):
    torch.manual_seed(0)
    net = P._build_inception()
    state = dict(net.state_dict())
    state["fc.weight"], state["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)
    f = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, f)
    m = P.load_inception(tmp_path)  # a folder is searched
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    feats = P.inception_features(m, x, batch=2)
    assert feats.shape == (3, 2048) and np.isfinite(feats).all()
    assert abs(P.fid_from_features(feats, feats)) < 1e-6
    del state["Mixed_7c.branch_pool.conv.weight"]
    torch.save(state, f)
    with pytest.raises(ValueError, match="missing"):
        P.load_inception(f)


def _exact_moments(rng, n, mean, sd):
    """n rows whose sample mean is ``mean`` and unbiased covariance diag(sd²), exactly."""
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(0)
    c = np.cov(z, rowvar=False)
    w, u = np.linalg.eigh(c)
    z = z @ u @ np.diag(w**-0.5) @ u.T
    return mean + z * sd


def test_fid_equals_the_gaussian_closed_form():
    rng = np.random.default_rng(3)
    m1, s1 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 2.0, 0.5])
    m2, s2 = np.array([1.0, 1.0, 0.0]), np.array([3.0, 1.0, 0.5])
    a, b = _exact_moments(rng, 50, m1, s1), _exact_moments(rng, 70, m2, s2)
    truth = np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)  # commuting covariances
    assert P.fid_from_features(a, b) == pytest.approx(truth, abs=1e-9)
    assert P.fid_from_features(b, a) == pytest.approx(truth, abs=1e-9)


def test_kid_unbiased_estimator_by_hand():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    y = np.array([[0.5, 0.5], [2.0, 0.0], [0.0, 0.0], [1.0, -1.0]])

    def k(u, v):
        return (sum(p * q for p, q in zip(u, v)) / 2 + 1) ** 3

    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    assert P.kid_from_features(x, y) == pytest.approx(sxx + syy - 2 * sxy, abs=1e-12)
    # subsets as large as both sets are the full sets up to row order (KID is invariant)
    big = np.vstack([y, y[:1] + 0.25])
    assert P.kid_from_features(x, y[:3], subsets=2, subset_size=3) == pytest.approx(
        P.kid_from_features(x, y[:3]), abs=1e-12)
    assert np.isfinite(P.kid_from_features(x, big, subsets=4, subset_size=3))
    with pytest.raises(ValueError):
        P.kid_from_features(x[:1], y)
    with pytest.raises(ValueError, match="dimensions"):
        P.fid_from_features(x, np.ones((3, 3)))
