"""The memory bound of `digitrec serve`: the costliest single requests, then a burst of them.

Starts one server process (the real `digitrec serve --workers 1`), warms it up, and sends one at a
time: a batch of 12 blank 7000x7000 RGBA PNGs, a 16-bit and an RGBA 7000x7000 PNG, a lossless WebP
and a progressive JPEG just within the decode budget. Prints the server's RSS at its highest during
each (sampled every 5 ms) and after it; then sends 16 of the PNGs at once and prints what they got,
the peak, and the RSS 2 s later. tests/test_limits.py holds the server to the README's bounds.

    python benchmarks/memory_bound.py
"""

from __future__ import annotations

import collections
import time

from soak import Server, multipart, peak_rss_during


def worst_requests() -> dict[str, tuple[str, str, bytes]]:
    """name -> (path, content type, body) of the requests that cost the most memory to answer."""
    from PIL import Image

    from fixtures import encode, uniform_png

    rgba, gray16 = uniform_png(7000, 7000, 8, 6), uniform_png(7000, 7000, 16, 0)
    return {
        "batch of 12 blank 7000x7000 RGBA PNGs": ("/api/predict/batch", *multipart([rgba] * 12)),
        "16-bit 7000x7000 PNG": ("/api/predict", "image/png", gray16),
        "7000x7000 RGBA PNG": ("/api/predict", "image/png", rgba),
        "3600x3600 lossless WebP": ("/api/predict", "image/webp",
                                    encode(Image.new("RGB", (3600, 3600), "white"), "WEBP", lossless=True)),
        "7000x7000 progressive JPEG": ("/api/predict", "image/jpeg", encode(Image.new("RGB", (7000, 7000), "white"),
                                                                            "JPEG", progressive=True, quality=50)),
    }


def main() -> None:
    worst = worst_requests()
    with Server(workers=1) as server:
        server.warm_up()
        base = server.rss_mb()
        print(f"one server process, baseline RSS {base:.1f} MB after warm-up")
        for name, (path, kind, body) in worst.items():
            start = time.perf_counter()
            peak, answer = peak_rss_during(server, lambda p=path, k=kind, b=body: server.post(p, b, k))
            seconds = time.perf_counter() - start
            time.sleep(0.5)
            print(f"  {name:40s} {len(body) / 1e6:5.2f} MB -> {answer.status}: peak +{peak - base:5.1f} MB, "
                  f"after +{server.rss_mb() - base:4.1f} MB ({seconds:.1f} s)")
        burst = [worst["7000x7000 RGBA PNG"][1:], worst["16-bit 7000x7000 PNG"][1:]] * 8
        start = time.perf_counter()
        peak, answers = peak_rss_during(server, lambda: server.storm(burst))
        seconds = time.perf_counter() - start
        time.sleep(2)
        statuses = collections.Counter(a.status for a in answers)
        print(f"  16 of them at once ({seconds:.1f} s): {dict(sorted(statuses.items()))}, peak +{peak - base:.1f} MB, "
              f"2 s after +{server.rss_mb() - base:.1f} MB")


if __name__ == "__main__":
    main()
