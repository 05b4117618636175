"""Conditional requests for Flask views: 304 and 412 before the view runs."""

from .conditional import conditional
from .conditional import current_validators
from .conditional import Validators
from .extension import CondPoll

__version__ = "0.1.0"

__all__ = [
    "CondPoll",
    "Validators",
    "conditional",
    "current_validators",
]
