"""digitrec's training pipeline versus the standard Dataset + shuffling DataLoader, same model.

Both train the `tutorial-convnet-bn` recipe (convnet-bn, Adam 1e-3, batch 100) for one epoch in the
same process, alternating, and the script prints images per second for each and their ratio. The
baseline is the tutorial's code: its model in stock torch layers, fp32, and the per-sample pipeline
(a Dataset whose __getitem__ turns one uint8 image into a normalised float tensor, and
DataLoader(shuffle=True, batch_size=100)). digitrec runs `digitrec train --preset tutorial-convnet-bn`
as it ships (`--precision auto`: bf16 autocast where timed steps show it faster) and, to show what the data
pipeline and layers give without bf16, with `--precision fp32`.

    python benchmarks/loader_ratio.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from digitrec.config import preset_config
from digitrec.data import MNIST_NORMALIZATION, load_mnist
from digitrec.optim import make_optimizer
from digitrec.training import train


class TutorialMNIST(Dataset):
    """What torchvision's MNIST + ToTensor + Normalize does: one image at a time."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        x = torch.from_numpy(self.images[i]).float().div(255).unsqueeze(0)
        return MNIST_NORMALIZATION(x), int(self.labels[i])


def tutorial_convnet_bn() -> nn.Module:
    """The tutorial's model, in stock torch layers (digitrec's convnet-bn computes the same)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )


def dataloader_epoch(mnist, seed: int) -> float:
    cfg = preset_config("tutorial-convnet-bn")
    torch.manual_seed(seed)
    model = tutorial_convnet_bn()
    optimizer = make_optimizer(cfg, model.parameters())
    loader = DataLoader(TutorialMNIST(mnist.train_images, mnist.train_labels), batch_size=cfg.batch_size,
                        shuffle=True)
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return len(mnist.train_images) / (time.perf_counter() - start)


def digitrec_epoch(seed: int, precision: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        result = train(preset_config("tutorial-convnet-bn", epochs=1, seed=seed, out=out, quiet=True,
                                     precision=precision))
    return result.rows[-1]["images_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    mnist = load_mnist()
    theirs: list[float] = []
    ours: dict[str, list[float]] = {"auto": [], "fp32": []}
    for seed in range(args.repeats):
        theirs.append(dataloader_epoch(mnist, seed))
        for precision, runs in ours.items():
            runs.append(digitrec_epoch(seed, precision))
        print(f"repeat {seed + 1}: Dataset+DataLoader {theirs[-1]:,.0f} img/s, digitrec {ours['auto'][-1]:,.0f} "
              f"img/s (fp32: {ours['fp32'][-1]:,.0f})", flush=True)
    print(f"tutorial-convnet-bn, one epoch, {torch.get_num_threads()} threads, medians of {args.repeats} repeats:")
    print(f"  Dataset+DataLoader, stock layers, fp32   {statistics.median(theirs):>7,.0f} img/s")
    for precision, runs in ours.items():
        ratios = [a / b for a, b in zip(runs, theirs, strict=True)]
        print(f"  digitrec --precision {precision:<4}               {statistics.median(runs):>7,.0f} img/s   "
              f"ratio {statistics.median(ratios):.2f}x (per repeat: {', '.join(f'{r:.2f}' for r in ratios)})")

if __name__ == "__main__":
    main()
