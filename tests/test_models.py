import pytest
import torch

from digitrec import models
from digitrec.errors import DigitrecError

# Parameter counts follow from the architectures' definitions (weights + biases).
EXPECTED_PARAMETERS = {
    "mlp": 784 * 256 + 256 + 256 * 64 + 64 + 64 * 10 + 10,
    "mlp-deep": (784 * 512 + 512) + (512 * 256 + 256) + (256 * 256 + 256) + (256 * 128 + 128)
    + (128 * 64 + 64) + (64 * 10 + 10),
    "lenet": (10 * 25 + 10) + (20 * 10 * 25 + 20) + (320 * 50 + 50) + (50 * 10 + 10),
    "cnn": (16 * 25 + 16) + (32 * 16 * 25 + 32) + (1568 * 10 + 10),
    "convnet-bn": (6 * 25 + 6 + 12) + (16 * 6 * 25 + 16 + 32) + (784 * 10 + 10),
    "digitnet-s": (16 * 9 + 32) + (32 * 16 * 9 + 64) + (64 * 32 * 9 + 128) + (64 * 9 * 10 + 10),
}


@pytest.mark.parametrize("name", list(models.REGISTRY))
def test_output_shape_and_finite(name):
    torch.manual_seed(0)
    model = models.build(name).eval()
    logits = model(torch.randn(5, 1, 28, 28))
    assert logits.shape == (5, 10)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name,count", EXPECTED_PARAMETERS.items())
def test_parameter_counts(name, count):
    assert models.parameter_count(models.build(name)) == count


def test_mlp_logits_are_not_rectified():
    assert not isinstance(models.build("mlp")[-1], torch.nn.ReLU)
    torch.manual_seed(0)
    assert (models.build("mlp")(torch.randn(64, 1, 28, 28)) < 0).any()


def test_model_table_lists_every_model():
    table = models.model_table()
    assert [row[0] for row in table] == list(models.REGISTRY)
    assert dict((n, c) for n, c, _ in table)["lenet"] == EXPECTED_PARAMETERS["lenet"]


def test_unknown_model_is_a_user_error():
    with pytest.raises(DigitrecError, match="unknown model 'resnet'"):
        models.build("resnet")


@pytest.mark.parametrize("kwargs, words", [
    ({"width": 10_000}, "width=10000 is out of range"), ({"blocks": 10_000_000}, "out of range"),
    ({"width": -3}, "out of range"), ({"width": "32"}, "out of range"), ({"depth": 3}, "unknown argument 'depth'"),
    ({"classes": 12}, "out of range"), ({"width": True}, "out of range"),
])
def test_hostile_model_arguments_are_refused_before_building(kwargs, words):
    with pytest.raises(DigitrecError, match=words) as info:
        models.build("digitnet", **kwargs)
    assert info.value.kind == "bad-model"


def test_every_model_can_have_a_not_a_digit_output():
    torch.manual_seed(0)
    for name in models.REGISTRY:
        assert models.build(name, classes=11)(torch.randn(2, 1, 28, 28)).shape == (2, 11)


@pytest.mark.parametrize("name", ["digitnet", "digitnet-m"])
def test_digitnet_pools_before_its_relu_with_the_same_numbers(name):
    """digitnet runs conv-BN-pool-ReLU: the same outputs and gradients as the textbook conv-BN-ReLU-pool
    (the checkpoint keys are the same too, so the shipped model loads into either)."""
    torch.manual_seed(0)
    model = models.build(name)
    modules = list(model)
    textbook = []
    for module in modules:
        if isinstance(module, torch.nn.ReLU) and isinstance(textbook[-1], torch.nn.MaxPool2d):
            textbook.insert(len(textbook) - 1, module)
        else:
            textbook.append(module)
    assert textbook != modules
    reference = torch.nn.Sequential(*textbook)
    x = torch.randn(16, 1, 28, 28)
    out, expected = model(x), reference(x)
    assert torch.equal(out, expected)
    grads = torch.autograd.grad(out.square().sum(), list(model.parameters()))
    expected_grads = torch.autograd.grad(expected.square().sum(), list(reference.parameters()))
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        assert torch.equal(grad, expected_grad)
    assert list(model.state_dict()) == list(reference.state_dict())
