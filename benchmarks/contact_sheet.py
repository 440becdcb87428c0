"""A contact sheet of a synthetic set: each category a row of thumbnails, captioned with the label.

    python benchmarks/contact_sheet.py --set digits|numbers|negatives|blanks [--seed 0] [--per-category 10]
        [--categories ruled,photo] [--boxes] [--thumb 160] --out sheet.png

Images are shown as a viewer shows them (EXIF orientation applied; transparency over a checkerboard).
`--boxes` outlines each digit's box in red, to check them. The caption is the label (or "-" for none),
with the format and the image's size.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402 (this folder is on sys.path only now)

SETS = {"digits": (synth.digits, synth.DIGIT_CATEGORIES), "numbers": (synth.numbers, synth.NUMBER_CATEGORIES),
        "negatives": (synth.negatives, synth.NEGATIVE_CATEGORIES), "blanks": (synth.blanks, synth.BLANK_CATEGORIES)}


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)


def shown(sample: synth.Sample, boxes: bool) -> Image.Image:
    """The sample as a viewer shows it, RGB; transparency over a grey checkerboard; boxes in red."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(sample.data)))
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        board = Image.new("RGBA", image.size, (200, 200, 200, 255))
        draw = ImageDraw.Draw(board)
        step = max(8, min(image.size) // 12)
        for y in range(0, image.height, step):
            for x in range((y // step) % 2 * step, image.width, 2 * step):
                draw.rectangle((x, y, x + step - 1, y + step - 1), fill=(150, 150, 150, 255))
        image = Image.alpha_composite(board, image)
    image = image.convert("RGB")
    if boxes:
        draw = ImageDraw.Draw(image)
        width = max(1, min(image.size) // 150)
        for x0, y0, x1, y1 in sample.boxes:
            draw.rectangle((x0 - width, y0 - width, x1 - 1 + width, y1 - 1 + width), outline=(255, 0, 0), width=width)
    return image


def sheet(samples: list[synth.Sample], categories: list[str], per_category: int, thumb: int = 160,
          boxes: bool = False) -> Image.Image:
    """The grid: a row per category (its name at the left), a column per sample."""
    label_w, caption_h, pad = 150, 28, 6
    cell_w, cell_h = thumb + pad, thumb + caption_h + pad
    out = Image.new("RGB", (label_w + per_category * cell_w, len(categories) * cell_h), "white")
    draw = ImageDraw.Draw(out)
    name_font, caption_font, small = _font(14), _font(13), _font(10)
    for r, category in enumerate(categories):
        y = r * cell_h
        draw.text((6, y + thumb // 2), category, fill="black", font=name_font)
        for c, sample in enumerate([s for s in samples if s.category == category][:per_category]):
            image = shown(sample, boxes)
            size = image.size
            image.thumbnail((thumb, thumb), Image.Resampling.LANCZOS)
            x = label_w + c * cell_w
            out.paste(image, (x + (thumb - image.width) // 2, y + (thumb - image.height) // 2))
            draw.text((x, y + thumb + 1), sample.label if sample.label is not None else "-", fill="black",
                      font=caption_font)
            draw.text((x + 2 + caption_font.getlength(sample.label or "-") + 4, y + thumb + 4),
                      f"{sample.fmt} {size[0]}x{size[1]}", fill=(90, 90, 90), font=small)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=list(SETS), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-category", type=int, default=10)
    parser.add_argument("--categories", default=None, help="comma-separated subset (default: all)")
    parser.add_argument("--boxes", action="store_true", help="outline each digit's box")
    parser.add_argument("--thumb", type=int, default=160, help="thumbnail size, px (default: 160)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    make, everything = SETS[args.set]
    categories = args.categories.split(",") if args.categories else list(everything)
    samples = make(args.per_category, args.seed, categories)
    sheet(samples, categories, args.per_category, args.thumb, args.boxes).save(args.out)
    print(f"wrote {args.out}: {len(samples)} {args.set}, seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
