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


def test_raw_pixel_models_take_normalised_input_like_every_other():
    from digitrec.config import MNIST_MEAN, MNIST_STD

    torch.manual_seed(0)
    raw = torch.rand(4, 1, 28, 28)
    wrapped = models.build("mlp", raw_pixels=True)
    assert isinstance(wrapped[0], models.RawPixels)
    assert torch.allclose(wrapped((raw - MNIST_MEAN) / MNIST_STD), wrapped[1](raw), atol=1e-5)


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
