"""Model files from anywhere: every field of a checkpoint's or ONNX export's metadata, its weights and
its graph are checked before anything is built or served. Each hostile file in the table is refused
in one line naming it, by `Recognizer.load` (the CLI, Python and the server) and by `digitrec serve`
before it listens; a valid file built the same way loads (the control), so each refusal is its defect's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from safetensors.torch import save_file

from digitrec import Recognizer, checkpoints, models
from digitrec.cli import main
from digitrec.data import MNIST_NORMALIZATION
from digitrec.errors import DigitrecError
from digitrec.metadata import build_metadata
from digitrec.server import create_app


def _metadata(**changes: object) -> dict:
    metadata = build_metadata("lenet", {}, MNIST_NORMALIZATION, {"seed": 0}, {"test_acc": 0.5}, 1)
    return {**metadata, **changes}


def _weights(name: str = "lenet", **kwargs: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {"model." + k: v.contiguous() for k, v in models.build(name, **kwargs).state_dict().items()}


def _checkpoint(path: Path, metadata: object = None, tensors: dict | None = None, text: str | None = None) -> Path:
    """A safetensors file: `tensors` (default: lenet's) and `metadata` (default: lenet's), or raw `text`."""
    text = text if text is not None else json.dumps(_metadata() if metadata is None else metadata)
    save_file(_weights() if tensors is None else tensors, str(path), metadata={"digitrec": text})
    return path


def _changed_weights(change: Callable[[dict], None]) -> dict:
    tensors = _weights()
    change(tensors)
    return tensors


def _onnx(path: Path, side: int = 28, dtype: int = TensorProto.FLOAT, classes: int = 10, batch: object = "batch",
          weight: np.ndarray | None = None, metadata: object = "valid", external: bool = False) -> Path:
    """A linear digit model (reshape, matmul) with the declared input and output, as an ONNX file."""
    n = side * side
    kind = np.float32 if dtype == TensorProto.FLOAT else np.float64
    w = weight if weight is not None else np.random.default_rng(0).normal(0, 0.01, (n, classes)).astype(kind)
    initializer = numpy_helper.from_array(w, "w")
    if external:  # the weights "in another file": /dev/zero, read until memory runs out
        initializer.ClearField("raw_data")
        initializer.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "/dev/zero"), ("length", str(w.nbytes))):
            entry = initializer.external_data.add()
            entry.key, entry.value = key, value
    nodes = [helper.make_node("Reshape", ["input", "shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "w"], ["logits"])]
    graph = helper.make_graph(
        nodes, "digit", [helper.make_tensor_value_info("input", dtype, [batch, 1, side, side])],
        [helper.make_tensor_value_info("logits", dtype, [batch, classes])],
        [initializer, numpy_helper.from_array(np.array([-1, n], np.int64), "shape")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if metadata is not None:
        entry = model.metadata_props.add()
        entry.key = "digitrec"
        entry.value = json.dumps(_metadata(model={"name": "mlp", "kwargs": {}}) if metadata == "valid" else metadata)
    path.write_bytes(model.SerializeToString())
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _sparse(path: Path) -> Path:
    with path.open("wb") as f:
        f.truncate(checkpoints.MAX_MODEL_BYTES + 1)  # no disk used
    return path


def _header(data: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return make


def _digitnet(**kwargs: object) -> dict:
    return _metadata(model={"name": "digitnet", "kwargs": kwargs})


ST = "m.safetensors"
# name: (file name, how to make it in a folder, words the one-line error holds)
HOSTILE_MODELS: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "width 10^4": (ST, lambda p: _checkpoint(p, _digitnet(width=10_000)), "width=10000 is out of range"),
    "10^7 blocks": (ST, lambda p: _checkpoint(p, _digitnet(blocks=10_000_000)), "blocks=10000000 is out of range"),
    "negative width": (ST, lambda p: _checkpoint(p, _digitnet(width=-16)), "width=-16 is out of range"),
    "string width": (ST, lambda p: _checkpoint(p, _digitnet(width="16")), "width='16' is out of range"),
    "boolean width": (ST, lambda p: _checkpoint(p, _digitnet(width=True)), "width=True is out of range"),
    "unknown keyword": (ST, lambda p: _checkpoint(p, _digitnet(depth=3)), "unknown argument 'depth'"),
    "unknown architecture": (ST, lambda p: _checkpoint(p, _metadata(model={"name": "resnet", "kwargs": {}})),
                             "unknown model 'resnet'"),
    "arguments a list": (ST, lambda p: _checkpoint(p, _metadata(model={"name": "lenet", "kwargs": [1]})),
                         "arguments are not a JSON object"),
    "no model": (ST, lambda p: _checkpoint(p, {k: v for k, v in _metadata().items() if k != "model"}),
                 "no model name and arguments"),
    "model a list": (ST, lambda p: _checkpoint(p, _metadata(model=["lenet"])), "no model name and arguments"),
    "metadata a list": (ST, lambda p: _checkpoint(p, [_metadata()]), "not a JSON object"),
    "metadata a number": (ST, lambda p: _checkpoint(p, text="42"), "not a JSON object"),
    "another format": (ST, lambda p: _checkpoint(p, _metadata(format="pickle/1")), "format 'pickle/1'"),
    "std 0": (ST, lambda p: _checkpoint(p, _metadata(input={"normalization": {"mean": 0.1, "std": 0}})),
              "normalisation"),
    "std a string": (ST, lambda p: _checkpoint(p, _metadata(input={"normalization": {"mean": 0.1, "std": "1"}})),
                     "normalisation"),
    "input a list": (ST, lambda p: _checkpoint(p, _metadata(input=[])), "normalisation"),
    "temperature 0": (ST, lambda p: _checkpoint(p, _metadata(calibration={"temperature": 0})), "temperature"),
    "NaN in the metrics": (ST, lambda p: _checkpoint(p, _metadata(metrics={"test_acc": float("nan")})),
                           "holds the number nan"),
    "infinite epoch": (ST, lambda p: _checkpoint(p, text=json.dumps(_metadata()).replace('"epoch": 1',
                                                                                       '"epoch": Infinity')),
                       "holds the number inf"),
    "boolean epoch": (ST, lambda p: _checkpoint(p, _metadata(epoch=True)), "'epoch' is not a whole number"),
    "config a list": (ST, lambda p: _checkpoint(p, _metadata(config=[])), "'config' is not a JSON object"),
    "nested 20 deep": (ST, lambda p: _checkpoint(p, _metadata(metrics=json.loads("[" * 20 + "]" * 20))),
                       "nested more than 16 levels"),
    "nested 10^5 deep": (ST, lambda p: _checkpoint(p, text="[" * 100_000 + "]" * 100_000),
                         "without digitrec metadata"),
    "a 5000-digit integer": (ST, lambda p: _checkpoint(p, text='{"epoch": ' + "9" * 5000 + "}"),
                             "without digitrec metadata"),
    "NaN weights": (ST, lambda p: _checkpoint(p, tensors=_changed_weights(
        lambda t: t["model.0.weight"].fill_(float("nan")))), "NaN or infinity"),
    "weights that overflow": (ST, lambda p: _checkpoint(p, tensors=_changed_weights(
        lambda t: [v.fill_(1e30) for k, v in t.items() if k.endswith("weight")])), "NaN or infinite outputs"),
    "float64 weights": (ST, lambda p: _checkpoint(p, tensors={k: v.double() for k, v in _weights().items()}),
                        "weights do not fit model 'lenet'"),
    "a missing weight": (ST, lambda p: _checkpoint(p, tensors={k: v for k, v in _weights().items()
                                                              if k != "model.9.bias"}),
                         "first difference: 9.bias"),
    "another model's weights": (ST, lambda p: _checkpoint(p, _metadata(model={"name": "cnn", "kwargs": {}})),
                                "weights do not fit model 'cnn'"),
    "too many parameters": (ST, lambda p: _checkpoint(p, _digitnet(width=256, blocks=8)),
                            "parameters, more than any digitrec model"),
    "header longer than the file": (ST, _header((10**6).to_bytes(8, "little") + b"{}"), "not a safetensors file"),
    "header not JSON": (ST, _header((4).to_bytes(8, "little") + b"\xff\xfe{["), "not a safetensors file"),
    "8 bytes": (ST, _header(b"\x00" * 7), "too short"),
    "over the size limit": (ST, _sparse, "more than any digitrec model"),
    "a fifo": (ST, _fifo, "is not a regular file"),
    "a folder": (ST, lambda p: p.mkdir() or p, "is a folder"),
    "onnx input 32x32": ("m.onnx", lambda p: _onnx(p, side=32), "expected float (batch, 1, 28, 28)"),
    "onnx double input": ("m.onnx", lambda p: _onnx(p, dtype=TensorProto.DOUBLE), "takes tensor(double)"),
    "onnx 7 outputs": ("m.onnx", lambda p: _onnx(p, classes=7), "expected float (batch, 10 or 11)"),
    "onnx fixed batch of 1": ("m.onnx", lambda p: _onnx(p, batch=1), "fails on a test batch"),
    "onnx NaN weights": ("m.onnx", lambda p: _onnx(p, weight=np.full((784, 10), np.nan, np.float32)),
                         "NaN or infinite outputs"),
    "onnx external data": ("m.onnx", lambda p: _onnx(p, external=True), "not a loadable ONNX model"),
    "onnx without metadata": ("m.onnx", lambda p: _onnx(p, metadata=None), "without digitrec metadata"),
    "onnx metadata width 10^4": ("m.onnx", lambda p: _onnx(p, metadata=_digitnet(width=10_000)),
                                 "width=10000 is out of range"),
    "onnx metadata for 11 classes": ("m.onnx", lambda p: _onnx(p, metadata=_metadata(
        model={"name": "mlp", "kwargs": {"classes": 11}})), "describes another model"),
    "onnx not a model": ("m.onnx", _header(b"\x08\x07garbage" * 100), "not a loadable ONNX model"),
}


@pytest.mark.parametrize("name", list(HOSTILE_MODELS))
def test_hostile_model_files_are_refused_in_one_line(name, tmp_path):
    file_name, make, words = HOSTILE_MODELS[name]
    path = make(tmp_path / file_name)
    with pytest.raises(DigitrecError) as info:
        Recognizer.load(path)
    message = str(info.value)
    assert words in message and str(path) in message and "\n" not in message, message
    assert info.value.kind in ("bad-model", "unsupported", "unreadable")
    with pytest.raises(DigitrecError) as served:  # what `digitrec serve --model` does before it listens
        create_app(model_path=path)
    assert words in str(served.value) and str(path) in str(served.value) and "\n" not in str(served.value)


@pytest.mark.parametrize("make", [lambda p: _checkpoint(p / ST), lambda p: _onnx(p / "m.onnx")],
                         ids=["checkpoint", "onnx"])
def test_the_control_files_load_and_answer(make, tmp_path):
    recognizer = Recognizer.load(make(tmp_path))
    prediction = recognizer.predict(np.zeros((28, 28), np.uint8), preprocess=False)
    assert 0 <= prediction.digit <= 9 and np.isfinite(prediction.probabilities).all()


def test_dev_zero_as_a_model_is_refused_at_once():
    for path in ("/dev/zero", "/dev/zero.onnx"):
        with pytest.raises(DigitrecError, match="is not a regular file|no such model file"):
            Recognizer.load(path)


@pytest.mark.parametrize("command", ["serve", "evaluate", "predict"])
def test_commands_on_a_bad_model_are_one_line(command, tmp_path, capsys):
    path = _checkpoint(tmp_path / ST, _digitnet(width=10_000))
    argv = {"serve": ["serve", "--port", "0", "--model", str(path)], "evaluate": ["evaluate", "--model", str(path)],
            "predict": ["predict", "--model", str(path), str(tmp_path)]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "width=10000 is out of range" in err and "Traceback" not in err, err


def test_evaluate_on_a_fifo_does_not_wait(tmp_path, capsys):
    assert main(["evaluate", "--model", str(_fifo(tmp_path / ST))]) == 2
    assert "is not a regular file" in capsys.readouterr().err
