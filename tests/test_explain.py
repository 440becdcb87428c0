"""Inside a model: activations of each shown layer (ONNX export and torch alike), occlusion saliency
against a brute-force oracle, how much of it lies on the ink, whether it points at what matters, and
the tutorials' preprocessing."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from digitrec import Recognizer
from digitrec.checkpoints import shipped_checkpoint
from digitrec.explain import explain, layer_json, tile, tutorial_preprocess
from digitrec.saliency import PATCH, STRIDE, ink_share, log_odds, near_ink, occlusion
from fixtures import canvas_digits, encode, mnist_on_canvas, mnist_test

SHIPPED_LAYERS = [("conv1", (16, 14, 14)), ("conv2", (32, 7, 7)), ("conv3", (64, 3, 3)), ("conv4", (128, 3, 3))]


@pytest.fixture(scope="module")
def shipped() -> Recognizer:
    return Recognizer.load()


def png(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


class LinearModel:
    """A recogniser stand-in whose logits are a fixed linear map of the pixels: an oracle's model."""

    temperature = 1.7

    def __init__(self, seed: int = 0):
        self.weights = np.random.default_rng(seed).normal(size=(784, 10))

    def logits(self, x28: np.ndarray) -> np.ndarray:
        return (x28.reshape(len(x28), -1) / 255.0) @ self.weights


def brute_force_occlusion(model: LinearModel, x28: np.ndarray, digit: int) -> np.ndarray:
    """Every square position, ink or not, one at a time: the definition the fast version must match."""
    base = log_odds(model.logits(x28[None]), digit, model.temperature)[0]
    total, count = np.zeros((28, 28)), np.zeros((28, 28))
    starts = sorted(set(range(0, 28 - PATCH + 1, STRIDE)) | {28 - PATCH})  # the last square reaches the edge
    for y in starts:
        for x in starts:
            covered = x28.copy()
            covered[y:y + PATCH, x:x + PATCH] = 0
            drop = base - log_odds(model.logits(covered[None]), digit, model.temperature)[0]
            total[y:y + PATCH, x:x + PATCH] += max(drop, 0.0)
            count[y:y + PATCH, x:x + PATCH] += 1
    return total / count


def test_occlusion_matches_the_brute_force_definition() -> None:
    model = LinearModel()
    for index in (0, 1, 2):
        x28 = mnist_test()[0][index]
        digit = int(model.logits(x28[None])[0].argmax())
        fast = occlusion(model, x28, digit)
        np.testing.assert_allclose(fast, brute_force_occlusion(model, x28, digit), rtol=1e-9, atol=1e-12)
        assert fast.shape == (28, 28) and (fast >= 0).all() and fast.max() > 0


def test_log_odds_is_the_probability_odds() -> None:
    logits = np.random.default_rng(3).normal(size=(5, 10)) * 4
    p = np.exp(logits / 2) / np.exp(logits / 2).sum(1, keepdims=True)
    np.testing.assert_allclose(log_odds(logits, 4, 2.0), np.log(p[:, 4] / (1 - p[:, 4])), rtol=1e-9)


def test_near_ink_and_ink_share() -> None:
    x28 = np.zeros((28, 28), dtype=np.uint8)
    x28[10, 10] = 200
    near = near_ink(x28)
    assert near.sum() == 25 and near[8, 12] and not near[7, 10]  # a 5x5 square: within 2 px
    saliency = np.zeros((28, 28))
    saliency[10, 12], saliency[0, 0] = 3.0, 1.0
    assert ink_share(saliency, x28) == pytest.approx(0.75)
    assert ink_share(np.zeros((28, 28)), x28) == 1.0


def test_shipped_export_holds_every_stage(shipped: Recognizer) -> None:
    assert [(layer.name, layer.shape) for layer in shipped.layers] == SHIPPED_LAYERS
    assert all("conv" in layer.description and "ReLU" in layer.description for layer in shipped.layers)
    images = mnist_test()[0][:3]
    logits, activations = shipped.activations(images)
    np.testing.assert_allclose(logits, shipped.logits(images), rtol=1e-5, atol=1e-5)  # the same graph
    assert [a.shape for a in activations] == [(3, *shape) for _, shape in SHIPPED_LAYERS]
    assert all((a >= 0).all() and a.max() > 0 for a in activations)  # ReLU outputs


@pytest.mark.slow
def test_torch_checkpoint_explains_like_its_onnx_export(shipped: Recognizer) -> None:
    in_torch = Recognizer.load(shipped_checkpoint())
    assert in_torch.layers == shipped.layers
    for image in (mnist_on_canvas(0), mnist_on_canvas(4)):
        a, b = explain(shipped, image), explain(in_torch, image)
        assert a.prediction.digit == b.prediction.digit
        np.testing.assert_allclose(a.saliency, b.saliency, rtol=1e-3, atol=1e-3)
        for x, y in zip(a.layers, b.layers, strict=True):
            np.testing.assert_allclose(x.values, y.values, rtol=1e-4, atol=1e-4)


def test_explanation_json(shipped: Recognizer) -> None:
    explanation = explain(shipped, canvas_digits(1)[0], tutorial=True)
    out = json.loads(json.dumps(explanation.to_dict()))
    assert out["model"] == "shipped" and out["digit"] == explanation.prediction.digit == 7
    assert sum(out["probabilities"]) == pytest.approx(1.0)
    np.testing.assert_array_equal(png(out["preprocessed"]), explanation.prediction.preprocessed)
    saliency = np.array(out["saliency"])
    assert saliency.shape == (28, 28) and (saliency >= 0).all() and saliency.max() > 0
    assert [(layer["name"], tuple(layer["shape"])) for layer in out["layers"]] == SHIPPED_LAYERS
    for layer, view in zip(out["layers"], explanation.layers, strict=True):
        (rows, columns), (height, width) = layer["grid"], layer["tile"]
        image = png(layer["image"])  # grey and alpha
        assert image.shape == (rows * (height + 1) - 1, columns * (width + 1) - 1, 2)
        assert rows * columns >= view.values.shape[0] > (rows - 1) * columns
        assert image[..., 0].max() == 255 and layer["max"] == pytest.approx(float(view.values.max()))
        assert (image[..., 1] == 0).any() and (image[..., 1] == 255).any()  # transparent gaps between maps
    naive = out["tutorial_preprocessing"]
    # The tutorials' 28x28 of a dark-on-light canvas is inverted: the model may well refuse it.
    assert set(naive) >= {"digit", "probabilities", "preprocessed"}
    assert set(naive) >= ({"confidence"} if naive["digit"] is not None else {"reason", "closest_digit"})
    np.testing.assert_array_equal(png(naive["preprocessed"]), explanation.tutorial.preprocessed)


def test_tile_places_each_map_and_unit() -> None:
    maps = np.arange(10 * 2 * 3, dtype=np.float32).reshape(10, 2, 3)
    grid = tile(maps)
    assert grid.shape == (2 * 3 - 1, 8 * 4 - 1)  # 8 maps to a row, 1 px apart
    np.testing.assert_array_equal(grid[3:5, 4:7], maps[9])  # map 9: row 1, column 1
    assert np.isnan(grid[2]).all() and np.isnan(grid[3:, 7:]).all()
    units = np.arange(100, dtype=np.float32)
    strip = tile(units)
    assert strip.shape == (2, 64) and strip[1, 35] == 99 and np.isnan(strip[1, 36:]).all()


def test_dense_layers_of_a_checkpoint(tmp_path) -> None:
    import torch

    from digitrec import checkpoints, models
    from digitrec.data import RAW_PIXELS
    from digitrec.metadata import build_metadata

    torch.manual_seed(0)
    path = checkpoints.save(tmp_path / "mlp.safetensors",
                            build_metadata("mlp", {}, RAW_PIXELS, {}, {}, 1), models.build("mlp").state_dict())
    explanation = explain(Recognizer.load(path), mnist_on_canvas(2))
    assert [(v.info.name, v.info.shape, v.kind) for v in explanation.layers] == [("fc1", (256,), "dense"),
                                                                                  ("fc2", (64,), "dense")]
    out = layer_json(explanation.layers[0])
    assert out["grid"] == [4, 64] and len(out["values"]) == 256 and png(out["image"]).shape == (4, 64, 2)


def test_saliency_lies_on_the_ink_of_clean_digits(shipped: Recognizer) -> None:
    images, _ = mnist_test()
    shares = []
    for x28 in images[:20]:
        digit = shipped.classify(x28[None])[0].closest_digit
        shares.append(ink_share(occlusion(shipped, x28, digit), x28))
    print(f"saliency mass on or within 2 px of the ink, 20 MNIST test digits, shipped model: "
          f"mean {np.mean(shares):.1%}, lowest {min(shares):.1%}")
    assert min(shares) >= 0.7


def test_saliency_points_at_the_ink_that_matters(shipped: Recognizer) -> None:
    """Blanking the 15% of the ink that the saliency ranks highest lowers the answer's log-odds far
    more than blanking as much ink at random."""
    images, _ = mnist_test()
    rng = np.random.default_rng(0)
    salient, random = [], []
    for x28 in images[:30]:
        digit = shipped.classify(x28[None])[0].closest_digit
        saliency = occlusion(shipped, x28, digit)
        ink = np.flatnonzero(x28.ravel() > 0)
        k = int(0.15 * len(ink))
        variants = []
        for chosen in (ink[np.argsort(-saliency.ravel()[ink], kind="stable")[:k]], rng.choice(ink, k, replace=False)):
            blanked = x28.ravel().copy()
            blanked[chosen] = 0
            variants.append(blanked.reshape(28, 28))
        scores = log_odds(shipped.logits(np.stack([x28, *variants])), digit, shipped.temperature)
        salient.append(scores[0] - scores[1])
        random.append(scores[0] - scores[2])
    print(f"blanking 15% of the ink lowers the log-odds by {np.median(salient):.2f} (most salient) and "
          f"{np.median(random):.2f} (random), medians over 30 digits")
    # benchmarks/saliency.py, 200 digits: median drops 5.9 against 3.8 for the shipped model (5.1 against 2.5
    # for the model it was fine-tuned from, which lost less to random blanking); here, 30 digits: 6.3 against 4.5,
    # the salient ink the larger loss for 26 of them.
    assert np.median(salient) > 1.25 * np.median(random) and np.mean(np.array(salient) > np.array(random)) >= 0.7


def test_tutorial_preprocessing_is_grey_and_resize_only() -> None:
    image = mnist_on_canvas(0)  # dark ink on white, off-centre on a 400x300 canvas
    naive = tutorial_preprocess(encode(image))
    np.testing.assert_array_equal(naive, np.asarray(image.resize((28, 28))))
    assert naive.dtype == np.uint8 and naive.shape == (28, 28) and naive.mean() > 200  # still black on white


def test_export_without_activations_still_explains(shipped: Recognizer, tmp_path) -> None:
    import onnx

    from digitrec.checkpoints import shipped_checkpoint

    model = onnx.load(str(shipped_checkpoint().with_suffix(".onnx")))
    while len(model.graph.output) > 1:  # as digitrec exported before it wrote activations
        model.graph.output.pop()
    onnx.save(model, tmp_path / "logits-only.onnx")
    plain = Recognizer.load(tmp_path / "logits-only.onnx")
    assert plain.layers == ()
    explanation = explain(plain, mnist_on_canvas(0))
    assert explanation.layers == () and explanation.prediction.digit == 7 and explanation.saliency.max() > 0
    np.testing.assert_allclose(explanation.saliency, explain(shipped, mnist_on_canvas(0)).saliency, atol=1e-6)


def test_an_export_with_a_bad_extra_output_is_refused(tmp_path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from digitrec.errors import DigitrecError

    model = onnx.load(str(shipped_checkpoint().with_suffix(".onnx")))
    model.graph.node.append(helper.make_node("Shape", ["input"], ["input_shape"]))
    model.graph.output.append(helper.make_tensor_value_info("input_shape", TensorProto.INT64, [4]))
    onnx.save(model, tmp_path / "odd.onnx")
    with pytest.raises(DigitrecError, match="output 'input_shape' gives tensor\\(int64\\)") as caught:
        Recognizer.load(tmp_path / "odd.onnx")
    assert caught.value.kind == "bad-model"
