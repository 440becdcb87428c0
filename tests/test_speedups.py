"""The CPU speed-ups change nothing but speed: the fast layers compute exactly what torch's own layers
compute (torch is the oracle), and swapping them in keeps every parameter and state-dict key."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from digitrec import models, speedups


@pytest.mark.parametrize("shape", [(3, 4, 28, 28), (2, 5, 7, 7), (2, 3, 9, 6), (1, 1, 2, 2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_max_pool_matches_torch_values_and_gradients(shape, dtype):
    torch.manual_seed(0)
    # ReLU'd values have many ties (all-zero windows); quantised ones tie among positive values too.
    x = torch.randn(shape).relu().mul(4).round().to(dtype)
    grad = torch.randn(*shape[:2], shape[2] // 2, shape[3] // 2).to(dtype)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = speedups.FastMaxPool2d(2)(ours)
    expected = F.max_pool2d(theirs, 2)
    out.backward(grad)
    expected.backward(grad)
    assert out.dtype == dtype
    assert torch.equal(out, expected)
    assert torch.equal(ours.grad, theirs.grad)  # the same winner in every window, ties included


def test_max_pool_takes_the_fast_path_only_where_it_applies(monkeypatch):
    calls = []
    original = speedups._MaxPool2x2.forward

    def counting(ctx, x):
        calls.append(x.shape)
        return original(ctx, x)

    monkeypatch.setattr(speedups._MaxPool2x2, "forward", staticmethod(counting))
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    speedups.FastMaxPool2d(2)(x)
    assert len(calls) == 1
    speedups.FastMaxPool2d(2).eval()(x)  # evaluation and export: torch's kernel
    speedups.FastMaxPool2d(3)(x)  # other windows: torch's kernel
    speedups.FastMaxPool2d(2)(x.contiguous(memory_format=torch.channels_last))  # has its own fast kernel
    with torch.no_grad():
        speedups.FastMaxPool2d(2)(x)
    assert len(calls) == 1


def test_narrow_convolutions_run_in_fp32_under_cpu_autocast():
    torch.manual_seed(0)
    narrow, wide = speedups.FastConv2d(1, 6, 5, padding=2), speedups.FastConv2d(1, 16, 3, padding=1)
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
def test_accelerated_models_compute_what_stock_torch_layers_compute(name):
    """Swapping the fast layers in changes nothing: same keys, same outputs, same gradients."""
    torch.manual_seed(0)
    stock = models.build(name)
    fast = models.build(name)
    fast.load_state_dict(stock.state_dict())
    speedups.accelerate(fast, models.get_spec(name), torch.device("cpu"))
    assert any(type(m) in (speedups.FastConv2d, speedups.FastMaxPool2d) for m in fast.modules()) or "mlp" in name
    assert list(fast.state_dict()) == list(stock.state_dict())
    x = torch.randn(8, 1, 28, 28)
    fast.to(memory_format=torch.contiguous_format)  # the layout is torch's business; the layers are ours
    out_fast, out_stock = fast(x), stock(x)
    assert torch.allclose(out_fast, out_stock, atol=1e-6)
    out_fast.square().sum().backward()
    out_stock.square().sum().backward()
    for (key, a), b in zip(fast.named_parameters(), stock.parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, atol=1e-5, rtol=1e-4), key


def test_models_are_built_from_stock_layers_only():
    """models.py reads like the tutorials: no speed trick is woven into an architecture."""
    for name in models.REGISTRY:
        kinds = {type(m).__module__ for m in models.build(name).modules()}
        assert kinds <= {"torch.nn.modules.container", "torch.nn.modules.flatten", "torch.nn.modules.linear",
                         "torch.nn.modules.activation", "torch.nn.modules.conv", "torch.nn.modules.pooling",
                         "torch.nn.modules.batchnorm"}, (name, kinds)
