"""ONNX export: onnxruntime gives the numbers torch gives, with the checkpoint's metadata and any batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitrec import Recognizer, checkpoints, cli, models
from digitrec.checkpoints import shipped_checkpoint
from digitrec.data import MNIST_NORMALIZATION
from digitrec.errors import DigitrecError
from digitrec.metadata import build_metadata
from fixtures import font_digit, mnist_on_canvas, mnist_test

pytestmark = pytest.mark.slow  # torch import plus one export: about 10 s


def agree(a: Recognizer, b: Recognizer, inputs: list, preprocess: bool = True) -> None:
    pa, pb = a.predict_batch(inputs, preprocess), b.predict_batch(inputs, preprocess)
    np.testing.assert_allclose([p.probabilities for p in pa], [p.probabilities for p in pb], rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, export folder) for a freshly initialised digitnet-s, exported through the CLI."""
    import torch

    torch.manual_seed(0)
    model = models.build("digitnet-s")
    with torch.no_grad():  # non-trivial BatchNorm statistics, so that folding them is really tested
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    folder = tmp_path_factory.mktemp("export")
    metadata = build_metadata("digitnet-s", {"width": 16}, MNIST_NORMALIZATION, {"seed": 0}, {"test_acc": 0.1}, 1)
    checkpoint = checkpoints.save(folder / "run" / "best.safetensors", metadata, model.state_dict(),
                                  {"momentum": torch.zeros(3)})
    assert cli.main(["export", str(checkpoint), str(folder / "out")]) == 0
    return checkpoint, folder / "out"


def test_onnxruntime_agrees_with_torch(exported: tuple[Path, Path]) -> None:
    checkpoint, out = exported
    torch_run, onnx_run = Recognizer.load(checkpoint), Recognizer.load(out / "model.onnx")
    agree(torch_run, onnx_run, list(mnist_test()[0][:200]), preprocess=False)
    agree(torch_run, onnx_run, [font_digit(d) for d in range(10)] + [mnist_on_canvas(3)])


def test_any_batch_size(exported: tuple[Path, Path]) -> None:
    recognizer = Recognizer.load(exported[1] / "model.onnx")
    images = mnist_test()[0][:700]  # more than one inference chunk
    whole = recognizer.predict_batch(images, preprocess=False)
    assert len(whole) == 700
    for n in (1, 3):
        assert recognizer.predict_batch(images[:n], preprocess=False) == whole[:n]


def test_metadata_travels_with_the_export(exported: tuple[Path, Path]) -> None:
    checkpoint, out = exported
    expected = checkpoints.read_metadata(checkpoint)
    assert Recognizer.load(out / "model.onnx").metadata == expected
    assert checkpoints.read_metadata(out / "model.safetensors") == expected
    _, weights, optimizer = checkpoints.load(out / "model.safetensors")
    assert weights and not optimizer  # the copy beside the .onnx holds the weights only


def test_export_cli_reports_and_refuses_non_checkpoints(exported: tuple[Path, Path], tmp_path, capsys) -> None:
    (tmp_path / "junk.safetensors").write_bytes(b"junk" * 10)
    assert cli.main(["export", str(tmp_path / "junk.safetensors"), str(tmp_path / "out")]) == 2
    assert "junk.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_shipped_onnx_agrees_with_shipped_checkpoint() -> None:
    onnx_run = Recognizer.load()
    torch_run = Recognizer.load(shipped_checkpoint())
    agree(torch_run, onnx_run, list(mnist_test()[0][:500]), preprocess=False)
    assert isinstance(onnx_run.metadata, dict) and onnx_run.metadata["model"] == torch_run.metadata["model"]


def test_export_needs_a_real_checkpoint(tmp_path) -> None:
    from digitrec.export import export_onnx

    with pytest.raises(DigitrecError, match="no such (image |model )?file"):
        export_onnx(tmp_path / "nothing.safetensors", tmp_path)
