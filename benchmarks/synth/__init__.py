"""Seeded, realistic evaluation sets for digitrec: handwriting on real paper and in phone photos.

    from synth import digits, numbers, negatives, blanks      # with benchmarks/ on sys.path
    samples = digits(per_category=20, seed=0)                 # list[Sample], DIGIT_CATEGORIES order

Four sets, each a list of `Sample` (the encoded file a user would send, its format, kind, category, label,
per-digit boxes, and an `info` dict saying how it was made):
- `digits(n, seed)`: single handwritten digits, n per DIGIT_CATEGORIES (ruled, squared, boxed, form-cells,
  photo, pencil-photo, coloured-ink, coloured-paper, neighbour-sliver, tight-crop, combined = two at once);
  sample i of a category has label str(i % 10), so every category is balanced.
- `numbers(n, seed)`: 2-6 digit numbers (leading zeros sometimes), NUMBER_CATEGORIES (pen-paper,
  ruled-paper, pad-dark, pad-light, pad-transparent, near-touching, broken, sizes, specks, photo); the label
  is the digit string, boxes are exact per digit, left to right.
- `negatives(n, seed)`: not one digit (letters, symbols, scribbles, hatching, shapes, arrows, ticks and
  crosses, digit pairs, MNIST recombinations), label None: a reader must answer "not a digit".
- `blanks(n, seed)`: nothing written (blank canvases, blank paper in photos, ruled and squared paper, empty
  boxes and form cells), label None: a reader must answer "no digit found".

Writers vary per sample: stroke skeletons drawn with a random slant, aspect, smooth wobble, pen width and
pressure (ballpoint, felt, marker, grainy pencil, or a mouse on a web pad); handwriting fonts (fonts.py:
dkg, Comic Neue, Dancing Script, Kristi, Humor Sans, Breip, Because We...; those not installed are skipped);
and real digits from MNIST's TRAIN split drawn as ink (never the test split). Paper, ruling, print,
lighting, photo geometry, ink, sizes and positions vary as well; see each module.

Seeds: sample (category, index) of a set comes from np.random.default_rng([seed, category id, index]),
so it does not change when other categories or counts do. Tune on seed 0; report on seed 1 or later,
which nothing was tuned on. Nothing needs a network or torch (MNIST comes from digitrec.data, numpy only).

Look at a set before trusting a number measured on it:
    python benchmarks/contact_sheet.py --set digits --seed 0 --per-category 10 --boxes --out sheet.png
and measure a recogniser per category with
    python benchmarks/synth/report.py --set all --per-category 20 --seed 1
"""

from .blankset import BLANK_CATEGORIES, blanks, make_blank
from .digitset import DIGIT_CATEGORIES, digits, make_digit
from .negativeset import NEGATIVE_CATEGORIES, make_negative, negatives
from .numberset import NUMBER_CATEGORIES, make_number, numbers
from .sample import Sample

__all__ = ["BLANK_CATEGORIES", "DIGIT_CATEGORIES", "NEGATIVE_CATEGORIES", "NUMBER_CATEGORIES", "Sample", "blanks",
           "digits", "make_blank", "make_digit", "make_negative", "make_number", "negatives", "numbers"]
