"""The shared input checks: each error names the argument and what it got."""

import pytest
import torch

from dlnotes._checks import float_tensor, nonnegative_number, positive_int, positive_ints


def test_positive_int_returns_the_value():
    assert positive_int("n", 3) == 3


@pytest.mark.parametrize("bad", [0, -2, 1.0, True, "3", None])
def test_positive_int_refuses(bad):
    with pytest.raises(ValueError, match="n must be a positive int"):
        positive_int("n", bad)


def test_positive_ints_names_the_bad_argument():
    positive_ints(vocab_size=5, hidden_size=8)
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int, got 0"):
        positive_ints(vocab_size=5, hidden_size=0)


def test_float_tensor():
    x = torch.zeros(2)
    assert float_tensor("x", x) is x
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list"):
        float_tensor("x", [0.0])
    with pytest.raises(TypeError, match="floating-point tensor, got torch.int64"):
        float_tensor("x", torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), True, "1", None])
def test_nonnegative_number_refuses(bad):
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        nonnegative_number("lam", bad)


def test_nonnegative_number_returns_a_float():
    assert nonnegative_number("lam", 0) == 0.0 and isinstance(nonnegative_number("lam", 3), float)
