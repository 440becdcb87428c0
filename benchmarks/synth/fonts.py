"""Fonts: handwriting fonts installed on this machine (Debian packages) and those matplotlib ships.

The handwriting fonts are optional: the ones missing are skipped (the sets then differ from a machine that
has them, so compare numbers only between machines with the same `available()` list). Install them with
    apt-get install fonts-dkg-handwriting fonts-comic-neue fonts-dancingscript fonts-kristi \\
        fonts-humor-sans fonts-breip fonts-bwht
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

_SYSTEM = Path("/usr/share/fonts")
# Handwriting fonts whose digits a person reads at once (femkeklaver is hollow: left out).
HANDWRITING = ("truetype/fifthhorseman/dkg.ttf", "truetype/fifthhorseman/dkgBd.ttf",
               "truetype/fifthhorseman/dkgIt.ttf", "truetype/fifthhorseman/dkgBI.ttf",
               "opentype/comic-neue/ComicNeue-Regular.otf", "opentype/comic-neue/ComicNeue-Bold.otf",
               "opentype/comic-neue/ComicNeue-Light.otf", "opentype/comic-neue/ComicNeue-Italic.otf",
               "opentype/comic-neue/ComicNeue-BoldItalic.otf", "opentype/dancingscript/DancingScript-Regular.otf",
               "opentype/dancingscript/DancingScript-Bold.otf", "truetype/kristi/Kristi.ttf",
               "truetype/humor-sans/Humor-Sans.ttf", "truetype/breip/Breip.ttf",
               "opentype/bwht/BecauseWeBuild-Regular.otf", "opentype/bwht/BecauseWeConnect-Regular.otf",
               "opentype/bwht/BecauseWeCreate-Regular.otf", "opentype/bwht/BecauseWeLearn-Regular.otf",
               "opentype/bwht/BecauseWeMentor-Regular.otf", "opentype/bwht/BecauseWeOrganize-Regular.otf")
# Print fonts from matplotlib: always there. Used for letters and symbols, not for handwritten digits.
PRINT = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
         "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf",
         "cmss10.ttf")
# Glyphs some fonts draw as something else (dkg's "%" is a 7 with a dot): never taken from them.
_MISDRAWN = {"dkg": "%#?&"}


def _path(name: str) -> Path:
    if name in PRINT:
        return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    return _SYSTEM / name


@cache
def handwriting() -> tuple[str, ...]:
    """The handwriting fonts installed here (names relative to /usr/share/fonts)."""
    return tuple(name for name in HANDWRITING if _path(name).exists())


def pick(rng: np.random.Generator, print_too: bool = False) -> str:
    """A random font for digits (handwriting; DejaVu Sans Oblique if none is installed), or for letters
    and symbols (`print_too`: handwriting or print, half and half)."""
    hand = handwriting()
    if print_too and (not hand or rng.random() < 0.4):
        return str(rng.choice(PRINT))
    return str(rng.choice(hand)) if hand else "DejaVuSans-Oblique.ttf"


@cache
def _charset(name: str) -> frozenset[str]:
    cmap = TTFont(str(_path(name)), lazy=True).getBestCmap() or {}
    bad = next((v for k, v in _MISDRAWN.items() if Path(name).name.startswith(k)), "")
    return frozenset(chr(c) for c in cmap if chr(c) not in bad)


def has(name: str, char: str) -> bool:
    return char in _charset(name)


@cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_path(name)), size)


@cache
def _digit_height(name: str) -> float:
    """Ink height of the font's digits per px of font size (to render a digit `height` px tall)."""
    box = _font(name, 100).getbbox("0123456789")
    return (box[3] - box[1]) / 100


def render(name: str, char: str, height: float) -> np.ndarray | None:
    """Ink (alpha float32, cropped) of `char` about `height` px tall (its font's digit height), or None if
    the font lacks it."""
    if not has(name, char):
        return None
    font = _font(name, max(6, round(height / _digit_height(name))))
    left, top, right, bottom = font.getbbox(char)
    if right - left < 1 or bottom - top < 1:
        return None
    image = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(image).text((4 - left, 4 - top), char, font=font, fill=255)
    box = image.getbbox()
    return None if box is None else np.asarray(image.crop(box), np.float32) / 255
