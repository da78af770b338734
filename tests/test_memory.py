import numpy as np
import pytest
import torch
from scipy.special import softmax

from dlnotes import memory as mem


def _np(x):
    return x.detach().numpy().astype(np.float64)


@pytest.fixture
def setup():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(6, 4, generator=g, dtype=torch.float64)
    k = torch.randn(4, generator=g, dtype=torch.float64)
    w = torch.softmax(torch.randn(6, generator=g, dtype=torch.float64), 0)
    return M, k, w


def test_cosine_and_content_weights_match_numpy(setup):
    M, k, _ = setup
    Mn, kn = _np(M), _np(k)
    cos = Mn @ kn / (np.linalg.norm(Mn, axis=1) * np.linalg.norm(kn))
    np.testing.assert_allclose(_np(mem.cosine_similarity(k, M)), cos, rtol=1e-10)
    for beta in (0.0, 1.0, 7.5):
        np.testing.assert_allclose(_np(mem.content_weights(k, M, beta)), softmax(beta * cos), rtol=1e-10)
    np.testing.assert_allclose(_np(mem.content_weights(k, M, 0.0)), np.full(6, 1 / 6))


def test_read_and_write_match_hand_computation(setup):
    M, _, w = setup
    np.testing.assert_allclose(_np(mem.read(M, w)), _np(w) @ _np(M), rtol=1e-10)
    e = torch.tensor([1.0, 0.0, 0.5, 0.25], dtype=torch.float64)
    a = torch.tensor([2.0, -1.0, 0.0, 3.0], dtype=torch.float64)
    expected = _np(M) * (1 - np.outer(_np(w), _np(e))) + np.outer(_np(w), _np(a))
    np.testing.assert_allclose(_np(mem.write(M, w, e, a)), expected, rtol=1e-10)
    one_hot = torch.zeros(6, dtype=torch.float64)
    one_hot[2] = 1.0
    replaced = mem.write(M, one_hot, torch.ones(4, dtype=torch.float64), a)
    np.testing.assert_allclose(_np(replaced[2]), _np(a))
    np.testing.assert_allclose(_np(replaced[[0, 1, 3, 4, 5]]), _np(M[[0, 1, 3, 4, 5]]))


def test_batched_operations_match_single(setup):
    M, k, w = setup
    Mb, kb, wb = torch.stack([M, 2 * M]), torch.stack([k, -k]), torch.stack([w, w.flip(0)])
    beta = torch.tensor([1.0, 3.0], dtype=torch.float64)
    out = mem.content_weights(kb, Mb, beta)
    for b in range(2):
        torch.testing.assert_close(out[b], mem.content_weights(kb[b], Mb[b], beta[b].item()))
        torch.testing.assert_close(mem.read(Mb, wb)[b], mem.read(Mb[b], wb[b]))


def test_shift_is_circular_convolution(setup):
    _, _, w = setup
    s = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    kernel = np.zeros(6)
    kernel[[5, 0, 1]] = _np(s)
    expected = np.real(np.fft.ifft(np.fft.fft(_np(w)) * np.fft.fft(kernel)))
    np.testing.assert_allclose(_np(mem.shift(w, s)), expected, rtol=1e-10)
    forward = mem.shift(w, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(forward, torch.roll(w, 1))


def test_interpolate_sharpen_and_address(setup):
    M, k, w = setup
    wc = mem.content_weights(k, M, 2.0)
    torch.testing.assert_close(mem.interpolate(wc, w, 0.25), 0.25 * wc + 0.75 * w)
    sharp = _np(w) ** 3 / (_np(w) ** 3).sum()
    np.testing.assert_allclose(_np(mem.sharpen(w, 3.0)), sharp, rtol=1e-10)
    s = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(mem.address(M, k, 2.0, 1.0, s, 1.0, w), wc)
    out = mem.address(M, k, 2.0, 0.5, torch.tensor([0.1, 0.8, 0.1], dtype=torch.float64), 2.0, w)
    assert torch.isclose(out.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_gradients_flow_through_addressing(setup):
    M, k, w = setup
    k = k.clone().requires_grad_(True)
    beta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    r = mem.read(M, mem.content_weights(k, M, beta))
    r.sum().backward()
    assert k.grad is not None and beta.grad is not None and torch.isfinite(k.grad).all()


def test_bad_input(setup):
    M, k, w = setup
    with pytest.raises(TypeError, match="torch.Tensor"):
        mem.read(M.numpy(), w)
    with pytest.raises(TypeError, match="floating-point"):
        mem.read(M.long(), w)
    with pytest.raises(ValueError, match="shape"):
        mem.read(M, w[:5])
    with pytest.raises(ValueError, match="key"):
        mem.cosine_similarity(k[:3], M)
    with pytest.raises(ValueError, match="beta"):
        mem.content_weights(k, M, -1.0)
    with pytest.raises(ValueError, match="erase"):
        mem.write(M, w, 2 * torch.ones(4, dtype=torch.float64), k)
    with pytest.raises(ValueError, match="odd length"):
        mem.shift(w, torch.tensor([0.5, 0.5], dtype=torch.float64))
    with pytest.raises(ValueError, match="gamma"):
        mem.sharpen(w, 0.5)
    with pytest.raises(ValueError, match="g "):
        mem.interpolate(w, w, 1.5)
    with pytest.raises(ValueError, match="memory"):
        mem.read(M[0], w)
