"""Seeded synthetic evaluation sets (placeholder docstring; see the end of the work)."""

from .blankset import BLANK_CATEGORIES, blanks, make_blank
from .digitset import DIGIT_CATEGORIES, digits, make_digit
from .negativeset import NEGATIVE_CATEGORIES, make_negative, negatives
from .numberset import NUMBER_CATEGORIES, make_number, numbers
from .sample import Sample

__all__ = ["BLANK_CATEGORIES", "DIGIT_CATEGORIES", "NEGATIVE_CATEGORIES", "NUMBER_CATEGORIES", "Sample", "blanks",
           "digits", "make_blank", "make_digit", "make_negative", "make_number", "negatives", "numbers"]
