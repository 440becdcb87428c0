"""How long preprocessing takes on drawings like the web page's: the first N MNIST test digits, each
inverted and enlarged to a 280x280 black-on-white PNG, through `preprocess.to_mnist` in a warm process.

    python benchmarks/preprocess_speed.py [--digits 100] [--passes 3]

Prints the mean ms per image of the fastest pass, and the process's CPU time per image in that pass
(on a machine shared with other work, wall time counts the waits for a core; CPU time less so). It
uses nothing newer than `to_mnist`, so running it with PYTHONPATH set to an older checkout's src/
times that code the same way: alternate the two a few times and compare medians (the machines this
project runs on drift by ±30% within minutes).
"""

from __future__ import annotations

import argparse
import io
import time

from PIL import Image

from digitrec import preprocess
from digitrec.data import load_mnist


def drawings(count: int) -> list[bytes]:
    """`count` 280x280 PNGs: MNIST test digits inverted (black on white) and enlarged, as drawn on a canvas."""
    out = []
    for digit in load_mnist().test_images[:count]:
        buffer = io.BytesIO()
        Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR).save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=100, help="drawings to preprocess (default: 100)")
    parser.add_argument("--passes", type=int, default=3, help="timed passes over them (default: 3)")
    args = parser.parse_args(argv)
    images = drawings(args.digits)
    for data in images[:10]:  # warm-up
        preprocess.to_mnist(data)
    means, cpu = [], []  # ms per image of each pass: wall clock, and this process's CPU time
    for _ in range(args.passes):
        start, start_cpu = time.perf_counter(), time.process_time()
        for data in images:
            preprocess.to_mnist(data)
        means.append((time.perf_counter() - start) / len(images) * 1e3)
        cpu.append((time.process_time() - start_cpu) / len(images) * 1e3)
    fastest = means.index(min(means))
    print(f"preprocessing {len(images)} drawn 280x280 digits: {means[fastest]:.2f} ms per image (fastest of "
          f"{args.passes} passes: {', '.join(f'{m:.2f}' for m in means)}; CPU {cpu[fastest]:.2f} ms per image)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
