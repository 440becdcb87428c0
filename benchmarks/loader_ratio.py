"""digitrec's in-memory pipeline versus the standard Dataset + shuffling DataLoader, same model.

Both train the `tutorial-convnet-bn` recipe (convnet-bn, Adam 1e-3, batch 100) for one epoch in the
same process, alternating, and the script prints images per second for each and their ratio. The
baseline is the per-sample pipeline of the tutorials: a Dataset whose __getitem__ turns one uint8
image into a normalised float tensor, and DataLoader(shuffle=True, batch_size=100).

    python benchmarks/loader_ratio.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from digitrec import models
from digitrec.config import MNIST_MEAN, MNIST_STD, preset_config
from digitrec.data import load_mnist
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
        return (x - MNIST_MEAN) / MNIST_STD, int(self.labels[i])


def dataloader_epoch(mnist, seed: int) -> float:
    cfg = preset_config("tutorial-convnet-bn")
    torch.manual_seed(seed)
    model = models.build(cfg.model)
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


def digitrec_epoch(seed: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        result = train(preset_config("tutorial-convnet-bn", epochs=1, seed=seed, out=out, quiet=True))
    return result.rows[-1]["images_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    mnist = load_mnist()
    ours, theirs = [], []
    for seed in range(args.repeats):
        theirs.append(dataloader_epoch(mnist, seed))
        ours.append(digitrec_epoch(seed))
        print(f"repeat {seed + 1}: Dataset+DataLoader {theirs[-1]:,.0f} img/s, digitrec {ours[-1]:,.0f} img/s",
              flush=True)
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    print(f"tutorial-convnet-bn, {torch.get_num_threads()} threads: Dataset+DataLoader "
          f"{statistics.median(theirs):,.0f} img/s, digitrec {statistics.median(ours):,.0f} img/s (medians); "
          f"ratio {statistics.median(ratios):.2f}x (per repeat: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
