"""Output-size and parameter formulas against PyTorch's own layers over a grid of settings."""

import itertools

import pytest
import torch
from torch import nn

from dlnotes import shapes

SIZES, KERNELS, STRIDES, PADS, DILATIONS = [1, 5, 8, 13], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2]


@torch.no_grad()
def test_conv_output_size_matches_conv2d():
    checked = 0
    for i, k, s, p, d in itertools.product(SIZES, KERNELS, STRIDES, PADS, DILATIONS):
        if d * (k - 1) + 1 > i + 2 * p:
            with pytest.raises(ValueError, match="fit inside"):
                shapes.conv_output_size(i, k, s, p, d)
            continue
        conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
        expected = conv(torch.zeros(1, 1, i, i)).shape[-1]
        assert shapes.conv_output_size(i, k, s, p, d) == expected, (i, k, s, p, d)
        checked += 1
    assert checked > 200


@torch.no_grad()
def test_conv_transpose_output_size_matches_convtranspose2d():
    checked = 0
    for i, k, s, p, d in itertools.product(SIZES, KERNELS, STRIDES, PADS, DILATIONS):
        for po in range(max(s, d)):
            layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=po, dilation=d)
            try:
                expected = layer(torch.zeros(1, 1, i, i)).shape[-1]
            except RuntimeError:
                with pytest.raises(ValueError):
                    shapes.conv_transpose_output_size(i, k, s, p, po, d)
                continue
            assert shapes.conv_transpose_output_size(i, k, s, p, po, d) == expected
            checked += 1
    assert checked > 300


def test_the_notes_output_padding_example():
    # A stride-2, kernel-3, padding-1 convolution maps both 7x7 and 8x8 inputs to 4x4; the
    # transposed convolution gives 7 back with output_padding 0 and 8 with output_padding 1.
    assert shapes.conv_output_size(7, 3, 2, 1) == shapes.conv_output_size(8, 3, 2, 1) == 4
    assert shapes.conv_transpose_output_size(4, 3, 2, 1, 0) == 7
    assert shapes.conv_transpose_output_size(4, 3, 2, 1, 1) == 8


@torch.no_grad()
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_size_matches_maxpool2d_and_avgpool2d(ceil_mode):
    checked = 0
    for i, k, s, p, d in itertools.product(SIZES, KERNELS, [None, 1, 2, 3], PADS, DILATIONS):
        if 2 * p > k or d * (k - 1) + 1 > i + 2 * p:
            with pytest.raises(ValueError):
                shapes.pool_output_size(i, k, s, p, d, ceil_mode)
            continue
        pool = nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
        expected = pool(torch.zeros(1, 1, i, i)).shape[-1]
        assert shapes.pool_output_size(i, k, s, p, d, ceil_mode) == expected, (i, k, s, p, d)
        if d == 1:
            avg = nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=ceil_mode)
            assert avg(torch.zeros(1, 1, i, i)).shape[-1] == expected
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("c_in, c_out, k, bias, groups", [
    (3, 5, 8, True, 1), (1, 16, 3, True, 1), (3, 16, 3, False, 1), (8, 8, 3, True, 8),
    (4, 6, (3, 5), True, 2), (64, 128, 1, True, 1),
])
def test_conv_params_matches_conv2d(c_in, c_out, k, bias, groups):
    conv = nn.Conv2d(c_in, c_out, k, bias=bias, groups=groups)
    assert shapes.conv_params(c_in, c_out, k, bias, groups) == sum(p.numel() for p in conv.parameters())


def test_the_notes_parameter_example():
    # 5 filters of 8x8 over a 3-channel image: 5 * 3 * 8 * 8 weights + 5 biases.
    assert shapes.conv_params(3, 5, 8) == 5 * 3 * 8 * 8 + 5 == 965


@pytest.mark.parametrize("n_in, n_out, bias", [(64, 10, True), (2, 1, False), (784, 512, True)])
def test_linear_params_matches_linear(n_in, n_out, bias):
    layer = nn.Linear(n_in, n_out, bias=bias)
    assert shapes.linear_params(n_in, n_out, bias) == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("call, message", [
    (lambda: shapes.conv_output_size(-1, 3), "size must be positive"),
    (lambda: shapes.conv_output_size(8, 0), "kernel must be positive"),
    (lambda: shapes.conv_output_size(8, 3, stride=0), "stride must be positive"),
    (lambda: shapes.conv_output_size(8, 3, padding=-1), "padding must be >= 0"),
    (lambda: shapes.conv_output_size(4, 7), "fit inside the padded input"),
    (lambda: shapes.conv_transpose_output_size(4, 3, 2, output_padding=2), "output_padding"),
    (lambda: shapes.conv_transpose_output_size(1, 1, 1, padding=3), "too large"),
    (lambda: shapes.pool_output_size(8, 2, padding=2), "half the kernel"),
    (lambda: shapes.pool_output_size(8, 2, stride=0), "stride must be positive"),
    (lambda: shapes.conv_params(3, 5, 3, groups=2), "divisible by groups"),
    (lambda: shapes.linear_params(0, 3), "in_features must be positive"),
])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("call", [
    lambda: shapes.conv_output_size(8.0, 3),
    lambda: shapes.conv_output_size(8, True),
    lambda: shapes.pool_output_size(8, 2, ceil_mode=1),
    lambda: shapes.conv_params(3, 5, "3"),
])
def test_bad_types_raise_type_error(call):
    with pytest.raises(TypeError):
        call()
