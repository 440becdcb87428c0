"""Seeded synthetic evaluation sets (placeholder docstring; see the end of the work)."""

from .digitset import DIGIT_CATEGORIES, digits, make_digit
from .sample import Sample

__all__ = ["DIGIT_CATEGORIES", "Sample", "digits", "make_digit"]
numbers = negatives = blanks = None  # filled in below as they are written
NUMBER_CATEGORIES = NEGATIVE_CATEGORIES = BLANK_CATEGORIES = ()
