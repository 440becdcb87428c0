"""The faster layers compute exactly what torch's own layers compute (torch is the oracle)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from digitrec import layers, models


@pytest.mark.parametrize("shape", [(3, 4, 28, 28), (2, 5, 7, 7), (2, 3, 9, 6), (1, 1, 2, 2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_max_pool_matches_torch_values_and_gradients(shape, dtype):
    torch.manual_seed(0)
    # ReLU'd values have many ties (all-zero windows); quantised ones tie among positive values too.
    x = torch.randn(shape).relu().mul(4).round().to(dtype)
    grad = torch.randn(*shape[:2], shape[2] // 2, shape[3] // 2).to(dtype)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = layers.MaxPool2d(2)(ours)
    expected = F.max_pool2d(theirs, 2)
    out.backward(grad)
    expected.backward(grad)
    assert out.dtype == dtype
    assert torch.equal(out, expected)
    assert torch.equal(ours.grad, theirs.grad)  # the same winner in every window, ties included


def test_max_pool_takes_the_fast_path_only_where_it_applies(monkeypatch):
    calls = []
    original = layers._MaxPool2x2.forward

    def counting(ctx, x):
        calls.append(x.shape)
        return original(ctx, x)

    monkeypatch.setattr(layers._MaxPool2x2, "forward", staticmethod(counting))
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    layers.MaxPool2d(2)(x)
    assert len(calls) == 1
    layers.MaxPool2d(2).eval()(x)  # evaluation and export: torch's kernel
    layers.MaxPool2d(3)(x)  # other windows: torch's kernel
    layers.MaxPool2d(2)(x.contiguous(memory_format=torch.channels_last))  # has its own fast kernel
    with torch.no_grad():
        layers.MaxPool2d(2)(x)
    assert len(calls) == 1


def test_narrow_convolutions_run_in_fp32_under_cpu_autocast():
    torch.manual_seed(0)
    narrow, wide = layers.Conv2d(1, 6, 5, padding=2), layers.Conv2d(1, 16, 3, padding=1)
    x = torch.randn(4, 1, 28, 28)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert narrow(x).dtype == torch.float32
        assert wide(x).dtype == torch.bfloat16
    reference = nn.Conv2d(1, 6, 5, padding=2)
    reference.load_state_dict(narrow.state_dict())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        in_autocast = narrow(x)
    assert torch.equal(in_autocast, reference(x))  # exactly nn.Conv2d's fp32 answer
    assert torch.equal(narrow(x), reference(x))


@pytest.mark.parametrize("name", list(models.REGISTRY))
def test_models_compute_what_stock_torch_layers_compute(name):
    """Swapping our layers for torch's changes nothing: same outputs, same gradients."""
    torch.manual_seed(0)
    ours = models.build(name)
    stock = models.build(name)
    stock.load_state_dict(ours.state_dict())
    for i, module in enumerate(stock):
        if isinstance(module, layers.MaxPool2d):
            stock[i] = nn.MaxPool2d(module.kernel_size)
        elif isinstance(module, layers.Conv2d):
            conv = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, padding=module.padding,
                             bias=module.bias is not None)
            conv.load_state_dict(module.state_dict())
            stock[i] = conv
    x = torch.randn(8, 1, 28, 28)
    out_ours, out_stock = ours(x), stock(x)
    assert torch.allclose(out_ours, out_stock, atol=1e-6)
    out_ours.square().sum().backward()
    out_stock.square().sum().backward()
    for (key, a), b in zip(ours.named_parameters(), stock.parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4), key


def test_memory_format_of_follows_the_conv_weights():
    model = models.build("digitnet-s")
    assert layers.memory_format_of(model) == torch.contiguous_format
    assert layers.memory_format_of(model.to(memory_format=torch.channels_last)) == torch.channels_last
    assert layers.memory_format_of(models.build("mlp")) == torch.contiguous_format
