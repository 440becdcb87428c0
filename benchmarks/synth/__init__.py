"""Seeded synthetic evaluation sets (placeholder docstring; see the end of the work)."""

from .digitset import DIGIT_CATEGORIES, digits, make_digit
from .numberset import NUMBER_CATEGORIES, make_number, numbers
from .sample import Sample

negatives = blanks = None  # filled in below as they are written
NEGATIVE_CATEGORIES = BLANK_CATEGORIES = ()

__all__ = ["DIGIT_CATEGORIES", "NUMBER_CATEGORIES", "Sample", "digits", "make_digit", "make_number", "numbers"]
