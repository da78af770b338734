import pytest
import torch
import torch.nn.functional as F

from dlnotes import rnn_attention as ra
from dlnotes import seq_attention as sa


def test_concat_align_is_bahdanau_with_split_matrix():
    torch.manual_seed(0)
    additive = sa.AdditiveAttention(dec_dim=5, enc_dim=3, attn_dim=7)
    h, s = torch.randn(6, 3), torch.randn(4, 5)
    W = torch.cat([additive.U_a.weight, additive.W_a.weight], dim=1)
    scores, count = ra.concat_align(h, s, W, additive.v_a.weight[0])
    ref = additive.scores(s[None], h[None])[0]
    torch.testing.assert_close(scores, ref, atol=1e-5, rtol=1e-5)
    assert count == 24 and scores.shape == (4, 6)


def test_concat_align_bad_input():
    h, s = torch.randn(6, 3), torch.randn(4, 5)
    with pytest.raises(ValueError, match="W must have shape"):
        ra.concat_align(h, s, torch.randn(7, 7), torch.randn(7))
    with pytest.raises(ValueError, match="v must have shape"):
        ra.concat_align(h, s, torch.randn(7, 8), torch.randn(6))
    with pytest.raises(TypeError, match="h must be a torch.Tensor"):
        ra.concat_align([1.0], s, torch.randn(7, 8), torch.randn(7))


def test_hard_attention_samples_and_has_no_gradient():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, requires_grad=True)
    h = torch.randn(3, 5, 2)
    picked, j = ra.hard_attention(torch.softmax(logits, -1), h, generator=g)
    torch.testing.assert_close(picked, h[torch.arange(3), j])
    assert not picked.requires_grad and j.dtype == torch.long
    with pytest.raises(ValueError, match="alpha must be"):
        ra.hard_attention(torch.ones(3, 4) / 4, h)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_matches_torch(hard):
    logits = torch.randn(8, 6)
    torch.manual_seed(3)
    ref = F.gumbel_softmax(logits, tau=0.5, hard=hard)
    torch.manual_seed(3)
    ours = ra.gumbel_softmax(logits, tau=0.5, hard=hard)
    torch.testing.assert_close(ours, ref)


def test_gumbel_softmax_straight_through_gradient_is_the_soft_one():
    logits = torch.randn(4, 5, requires_grad=True)
    g = -torch.empty(4, 5).exponential_().log()
    w = torch.randn(4, 5)
    (ra.gumbel_softmax(logits, 0.7, True, g) * w).sum().backward()
    grad_hard = logits.grad.clone()
    logits.grad = None
    (ra.gumbel_softmax(logits, 0.7, False, g) * w).sum().backward()
    torch.testing.assert_close(grad_hard, logits.grad)
    with pytest.raises(ValueError, match="tau must be positive"):
        ra.gumbel_softmax(logits, 0.0)
    with pytest.raises(ValueError, match="gumbels must be"):
        ra.gumbel_softmax(logits, 1.0, gumbels=torch.zeros(3))


def test_score_function_surrogate_is_unbiased_on_average():
    logits = torch.tensor([[0.5, -0.2, 0.1]], requires_grad=True)
    f = torch.tensor([1.0, 3.0, -2.0])
    exact = torch.autograd.grad((torch.softmax(logits, -1)[0] * f).sum(), logits)[0]
    g = torch.Generator().manual_seed(0)
    n = 20000
    many = logits.expand(n, 3)
    j = torch.multinomial(torch.softmax(logits.detach(), -1).expand(n, 3), 1, generator=g)[:, 0]
    est = torch.autograd.grad(ra.score_function_surrogate(many, j, f[j]) * 1.0, logits)[0]
    torch.testing.assert_close(est, exact, atol=0.05, rtol=0.0)
    with pytest.raises(ValueError, match="index must be"):
        ra.score_function_surrogate(many, j.float(), f[j])


@pytest.mark.parametrize("mode", ["soft", "gumbel", "reinforce"])
def test_key_value_reader_shapes(mode):
    torch.manual_seed(0)
    model = ra.KeyValueReader(item_dim=7, query_dim=3, n_classes=4, mode=mode)
    logits, alpha, j = model(torch.randn(5, 6, 7), torch.randn(5, 3))
    assert logits.shape == (5, 4) and alpha.shape == (5, 6) and j.shape == (5,)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(5))


@pytest.mark.parametrize("mode", ["gumbel", "reinforce"])
def test_key_value_reader_generator_reproducible(mode):
    torch.manual_seed(0)
    model = ra.KeyValueReader(item_dim=7, query_dim=3, n_classes=4, mode=mode)
    h, s = torch.randn(50, 6, 7), torch.randn(50, 3)
    _, _, j1 = model(h, s, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(99)
    _, _, j2 = model(h, s, generator=torch.Generator().manual_seed(3))
    assert torch.equal(j1, j2)


def test_key_value_reader_bad_input():
    with pytest.raises(ValueError, match="unknown mode"):
        ra.KeyValueReader(7, 3, 4, mode="hard")
    model = ra.KeyValueReader(7, 3, 4)
    with pytest.raises(ValueError, match="h must be"):
        model(torch.randn(5, 7), torch.randn(5, 3))


def test_patches_and_region_attention():
    images = torch.arange(64.0).reshape(1, 1, 8, 8)
    p = ra.patches(images, 4)
    assert p.shape == (1, 4, 16)
    torch.testing.assert_close(p[0, 1], images[0, 0, :4, 4:].reshape(-1))
    torch.manual_seed(0)
    logits, alpha = ra.RegionAttention()(torch.randn(2, 1, 16, 16))
    assert logits.shape == (2, 10) and alpha.shape == (2, 16)
    with pytest.raises(ValueError, match="multiple of 4"):
        ra.patches(torch.randn(1, 1, 10, 10), 4)
