"""Conditional requests for Flask views: 304 and 412 before the view runs."""

from .conditional import conditional
from .core.polling import Poll
from .current import current_validators
from .current import refresh_validators
from .extension import CondPoll
from .fragments import validators_for
from .polling import stop_polling
from .validators import NoValidators
from .validators import Validators

__version__ = "0.2.0.dev0"

__all__ = [
    "CondPoll",
    "NoValidators",
    "Poll",
    "Validators",
    "conditional",
    "current_validators",
    "refresh_validators",
    "stop_polling",
    "validators_for",
]
