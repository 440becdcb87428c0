import json
import pickle

import pytest
import torch

from digitrec import checkpoints, fileio, models
from digitrec.data import MNIST_NORMALIZATION
from digitrec.errors import DigitrecError
from digitrec.metadata import FORMAT, build_metadata


def _save(path, **metadata_changes):
    model = models.build("lenet")
    metadata = build_metadata("lenet", {}, MNIST_NORMALIZATION, {"seed": 0}, {"test_acc": 0.5}, 1)
    metadata.update(metadata_changes)
    return checkpoints.save(path, metadata, model.state_dict()), model


def test_round_trip(tmp_path):
    path, model = _save(tmp_path / "m.safetensors")
    loaded, metadata = checkpoints.load_model(path)
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(model.eval()(x), loaded(x))
    assert checkpoints.read_metadata(path) == metadata
    assert metadata["format"] == FORMAT


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    path, _ = _save(tmp_path / "m.safetensors")
    before = path.read_bytes()

    def killed(*args):
        raise KeyboardInterrupt  # the process dies between writing and renaming

    monkeypatch.setattr(fileio.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path / "m.safetensors", epoch=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


@pytest.mark.parametrize("content", [b"", b"hello", b"\x00" * 100, json.dumps({"a": 1}).encode()])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    with pytest.raises(DigitrecError, match="x.safetensors"):
        checkpoints.load_model(path)


def test_pickle_is_never_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(DigitrecError, match="not a safetensors file"):
        checkpoints.load_model(path)


def test_plain_safetensors_without_metadata_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "w.safetensors"))
    with pytest.raises(DigitrecError, match="without digitrec metadata"):
        checkpoints.read_metadata(tmp_path / "w.safetensors")


def test_weights_that_do_not_fit_the_architecture(tmp_path):
    path, _ = _save(tmp_path / "m.safetensors", model={"name": "cnn", "kwargs": {}})
    with pytest.raises(DigitrecError, match="do not fit model 'cnn'"):
        checkpoints.load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(DigitrecError, match="no such model file"):
        checkpoints.read_metadata(tmp_path / "none.safetensors")
