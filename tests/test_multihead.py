"""dlnotes.multihead against references: nn.MultiheadAttention, torch.optim.Adam,
torch.utils.flop_counter, and direct computations."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlnotes.multihead import MODES, Adam, HeadAttention, attention_cost, connected_inputs, offset_pair_task


def _x(n=2, length=5, d=8, seed=0):
    return torch.randn(n, length, d, generator=torch.Generator().manual_seed(seed))


def test_narrow_is_nn_multiheadattention():
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(8, 4, batch_first=True)
    ours = HeadAttention(8, 4, "narrow")
    with torch.no_grad():
        ours.in_proj.weight.copy_(mha.in_proj_weight)
        ours.in_proj.bias.copy_(mha.in_proj_bias)
        ours.out_proj.load_state_dict(mha.out_proj.state_dict())
    x = _x()
    out, w = ours(x)
    ref, ref_w = mha(x, x, x, average_attn_weights=False)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)


def test_single_head_is_f_sdpa():
    torch.manual_seed(1)
    ours = HeadAttention(6, 1, "narrow")
    x = _x(d=6)
    q, k, v = ours.in_proj(x).chunk(3, dim=-1)
    ref = ours.out_proj(F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(ours(x)[0], ref, atol=1e-6, rtol=1e-5)


def test_wide_heads_each_see_full_width():
    torch.manual_seed(2)
    ours = HeadAttention(8, 3, "wide")
    assert ours.d_head == 8 and ours.in_proj.weight.shape == (72, 8)
    x = _x()
    out, w = ours(x)
    assert out.shape == x.shape and w.shape == (2, 3, 5, 5)
    q, k, v = ours.in_proj(x).chunk(3, dim=-1)
    heads = [
        F.scaled_dot_product_attention(*(t[..., 8 * i : 8 * i + 8] for t in (q, k, v))) for i in range(3)
    ]
    torch.testing.assert_close(out, ours.out_proj(torch.cat(heads, -1)), atol=1e-6, rtol=1e-5)


def test_slice_is_block_diagonal_narrow():
    torch.manual_seed(3)
    sl = HeadAttention(8, 2, "slice")
    nar = HeadAttention(8, 2, "narrow")
    with torch.no_grad():
        nar.in_proj.weight.zero_()
        for r in range(3):
            for h in range(2):
                nar.in_proj.weight[8 * r + 4 * h : 8 * r + 4 * h + 4, 4 * h : 4 * h + 4] = sl.slice_weight[
                    r, h
                ].T
        nar.in_proj.bias.copy_(sl.slice_bias.reshape(-1))
        nar.out_proj.load_state_dict(sl.out_proj.state_dict())
    x = _x()
    torch.testing.assert_close(sl(x)[0], nar(x)[0], atol=1e-6, rtol=1e-5)
    # a head's weights ignore the other slice entirely
    x2 = x.clone()
    x2[..., 4:] += 1.0
    torch.testing.assert_close(sl(x)[1][:, 0], sl(x2)[1][:, 0])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("heads", [1, 2, 4])
def test_cost_matches_parameters_and_flop_counter(mode, heads):
    torch.manual_seed(4)
    layer = HeadAttention(8, heads, mode)
    cost = attention_cost(8, heads, mode, 6)
    assert cost["params"] == sum(p.numel() for p in layer.parameters())
    x = _x(n=1, length=6)
    with FlopCounterMode(display=False) as counter:
        layer(x)
    assert counter.get_total_flops() == 2 * cost["madds"]


def test_offset_pair_task():
    x, y = offset_pair_task(4, 7, 3, offsets=(1, 3), generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 7) and x.max() < 3
    assert (y[:, :3] == -100).all()
    for i in range(3, 7):
        assert torch.equal(y[:, i], 3 * x[:, i - 1] + x[:, i - 3])


def test_adam_matches_torch():
    torch.manual_seed(5)
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    ours, ref = Adam(a.parameters(), lr=0.05), torch.optim.Adam(b.parameters(), lr=0.05)
    x = _x(n=1, length=10, d=4)[0]
    for _ in range(5):
        a(x).pow(2).sum().backward()
        ours.step()
        ref.zero_grad()
        b(x).pow(2).sum().backward()
        ref.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
        assert p.grad is None


def test_connected_inputs_receptive_field():
    stack = nn.Sequential(*(nn.Conv1d(1, 1, 3, padding=1) for _ in range(2)))
    reach = connected_inputs(stack, 11, 1, 5)
    assert reach.tolist() == [False] * 3 + [True] * 5 + [False] * 3
    dilated = nn.Sequential(
        nn.Conv1d(1, 1, 2, dilation=1), nn.Conv1d(1, 1, 2, dilation=2), nn.Conv1d(1, 1, 2, dilation=4)
    )
    assert connected_inputs(dilated, 8, 1, 0).all()


def test_bad_input():
    with pytest.raises(ValueError, match="mode"):
        HeadAttention(8, 2, "thin")
    with pytest.raises(ValueError, match="divisible"):
        HeadAttention(8, 3, "narrow")
    with pytest.raises(ValueError, match="shape"):
        HeadAttention(8, 2)(torch.zeros(2, 3, 7))
    with pytest.raises(TypeError, match="floating"):
        HeadAttention(8, 2)(torch.zeros(2, 3, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="length"):
        attention_cost(8, 2, "wide", 0)
    with pytest.raises(ValueError, match="offsets"):
        offset_pair_task(2, 5, 3, offsets=(2, 2))
    with pytest.raises(ValueError, match="exceed"):
        offset_pair_task(2, 3, 3, offsets=(1, 3))
    with pytest.raises(ValueError, match="vocab"):
        offset_pair_task(2, 5, 1)
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    with pytest.raises(ValueError, match="lr"):
        Adam([torch.zeros(1, requires_grad=True)], lr=0)
    with pytest.raises(TypeError, match="nn.Module"):
        connected_inputs("conv", 5, 1, 0)
    with pytest.raises(ValueError, match="position"):
        connected_inputs(nn.Conv1d(1, 1, 3), 5, 1, 4)
