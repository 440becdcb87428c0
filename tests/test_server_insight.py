"""Several models in one server (`serve --model A --model B`), GET /api/models, ?model=NAME, and
POST /api/explain: names, shapes, errors, the saliency on the ink, and answers identical to the
library's (the oracle: `Recognizer.predict` and `explain` on the same bytes)."""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import pytest
from PIL import Image

from digitrec import Recognizer, checkpoints
from digitrec.errors import DigitrecError
from digitrec.explain import explain
from digitrec.saliency import ink_share
from digitrec.server import create_app
from digitrec.server.insight import model_specs
from fixtures import canvas_digits, encode

with warnings.catch_warnings():  # starlette >= 1.x prefers the httpx2 fork; httpx still works
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient


def png(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


@pytest.fixture(scope="module")
def mlp(tmp_path_factory) -> Recognizer:
    """An untrained MLP checkpoint in torch: a second model, with dense layers and its own answers."""
    import torch

    from digitrec import models
    from digitrec.data import RAW_PIXELS
    from digitrec.metadata import build_metadata

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("runs") / "tutorial-mlp"
    metadata = build_metadata("mlp", {}, RAW_PIXELS, {"model": "mlp"}, {"test_acc": 0.5}, 1)
    return Recognizer.load(checkpoints.save(folder / "best.safetensors", metadata, models.build("mlp").state_dict()))


@pytest.fixture(scope="module")
def shipped() -> Recognizer:
    return Recognizer.load()


@pytest.fixture(scope="module")
def client(shipped, mlp):
    with TestClient(create_app({"shipped": shipped, "tutorial-mlp": mlp})) as c:
        yield c


@pytest.fixture(scope="module")
def digits() -> list[bytes]:
    return canvas_digits(6)


def test_models_lists_every_served_model(client, shipped, mlp):
    served = client.get("/api/models").json()
    assert served["default"] == "shipped"
    assert [m["name"] for m in served["models"]] == ["shipped", "tutorial-mlp"]
    first, second = served["models"]
    assert first["architecture"] == "digitnet-m" and second["architecture"] == "mlp"
    assert first["metadata"] == shipped.metadata and second["test_accuracy"] == 0.5
    assert [layer["name"] for layer in first["layers"]] == ["conv1", "conv2", "conv3", "conv4"]
    assert [(layer["name"], layer["shape"]) for layer in second["layers"]] == [("fc1", [256]), ("fc2", [64])]


def test_model_parameter_picks_the_model(client, shipped, mlp, digits):
    for data in digits[:3]:
        for query, recognizer in (("", shipped), ("?model=shipped", shipped), ("?model=tutorial-mlp", mlp)):
            answer = client.post("/api/predict" + query, content=data).json()
            expected = recognizer.predict(data)
            assert answer["digit"] == expected.digit
            assert answer["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
    batch = client.post("/api/predict/batch?model=tutorial-mlp", files=[("file", ("a.png", digits[0]))]).json()
    assert batch["results"][0]["digit"] == mlp.predict(digits[0]).digit
    assert client.get("/api/model?model=tutorial-mlp").json()["name"] == "mlp"


def test_unknown_model_is_404_naming_the_served_ones(client, digits):
    for response in (client.post("/api/predict?model=nope", content=digits[0]),
                     client.post("/api/explain?model=nope", content=digits[0]),
                     client.get("/api/model?model=nope")):
        assert response.status_code == 404
        detail = response.json()["detail"]
        assert "'nope'" in detail and "shipped, tutorial-mlp" in detail and "\n" not in detail


@pytest.mark.parametrize("model", ["shipped", "tutorial-mlp"])
def test_explain_answers_like_the_library(client, shipped, mlp, digits, model):
    recognizer = {"shipped": shipped, "tutorial-mlp": mlp}[model]
    for data in digits[:2]:
        answer = client.post(f"/api/explain?model={model}", files={"file": ("d.png", data, "image/png")}).json()
        expected = explain(recognizer, data)
        predicted = client.post(f"/api/predict?model={model}", content=data).json()
        assert answer["model"] == model and answer["digit"] == expected.prediction.digit == predicted["digit"]
        assert answer["probabilities"] == pytest.approx(predicted["probabilities"], abs=1e-9)
        assert answer["preprocessed"] == predicted["preprocessed"]
        saliency = np.array(answer["saliency"])
        assert saliency.shape == (28, 28) and (saliency >= 0).all()
        np.testing.assert_allclose(saliency, expected.saliency, atol=1e-5)
        assert [(layer["name"], tuple(layer["shape"])) for layer in answer["layers"]] == \
            [(layer.name, layer.shape) for layer in recognizer.layers]
        assert all(png(layer["image"]).ndim == 3 for layer in answer["layers"])
        assert "occlusion" in answer["saliency_method"] and "tutorial_preprocessing" not in answer


def test_explain_takes_every_input_form_and_the_tutorial_comparison(client, digits):
    data = digits[0]
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    answers = [client.post("/api/explain", content=data, headers={"Content-Type": "image/png"}).json(),
               client.post("/api/explain", json={"image": url}).json(),
               client.post("/api/explain?tutorial_preprocessing=true", content=data).json()]
    assert len({a["digit"] for a in answers}) == 1 and answers[0]["saliency"] == answers[2]["saliency"]
    naive = answers[2]["tutorial_preprocessing"]
    # Black on white, as the tutorials leave it: the model may well refuse it as not a digit.
    assert set(naive) >= {"digit", "probabilities", "preprocessed"}
    assert set(naive) >= ({"confidence"} if naive["digit"] is not None else {"reason", "closest_digit"})
    assert png(naive["preprocessed"]).shape == (28, 28) and png(naive["preprocessed"]).mean() > 200  # black on white


def test_explain_errors_are_one_line_4xx(client):
    blank = client.post("/api/explain", content=encode(Image.new("L", (64, 64), 255)))
    assert blank.status_code == 422 and "no digit" in blank.json()["detail"]
    junk = client.post("/api/explain", content=b"not an image")
    assert junk.status_code == 400 and "\n" not in junk.json()["detail"]
    assert client.post("/api/explain", json={"nothing": 1}).status_code == 400


def test_saliency_from_the_api_lies_on_the_ink(client, digits):
    shares = []
    for data in digits:
        answer = client.post("/api/explain", content=data).json()
        shares.append(ink_share(np.array(answer["saliency"]), png(answer["preprocessed"])))
    print(f"/api/explain saliency on or within 2 px of the ink, {len(digits)} uploaded MNIST digits: "
          f"mean {np.mean(shares):.1%}, lowest {min(shares):.1%}")
    assert min(shares) >= 0.7


def test_docs_describe_the_new_endpoints(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/models", "/api/explain"} <= set(spec["paths"])
    for path in ("/api/predict", "/api/explain"):
        names = [p["name"] for p in spec["paths"][path]["post"]["parameters"]]
        assert "model" in names


def test_model_specs_name_each_model(tmp_path):
    (tmp_path / "runs" / "cnn").mkdir(parents=True)
    run = str(tmp_path / "runs" / "cnn")
    assert model_specs([]) == [("shipped", None)]
    assert model_specs(["shipped", run, "mine=" + run + "/last.safetensors", "x/export.onnx"]) == [
        ("shipped", None), ("cnn", run + "/best.safetensors"), ("mine", run + "/last.safetensors"),
        ("export", "x/export.onnx")]
    assert model_specs(["old=shipped"]) == [("old", None)]
    with pytest.raises(DigitrecError, match="two models have this name"):
        model_specs([run, run + "/best.safetensors"])


def test_serving_a_missing_model_is_one_clear_error(tmp_path):
    with pytest.raises(DigitrecError, match="nothing: no such model file"):
        create_app(model_path=["shipped", str(tmp_path / "nothing")])
    (tmp_path / "empty-run").mkdir()
    with pytest.raises(DigitrecError, match="empty-run: is a folder without best.safetensors"):
        create_app(model_path=[str(tmp_path / "empty-run")])
