"""How a params key is declared: its default, help text and allowed values in one dataclass field."""

from __future__ import annotations

import dataclasses
from typing import Any

REQUIRED = dataclasses.MISSING  # the default of a key that must be given (a list entry's, such as a source's name)


def spec(default: Any, help: str, *, ge=None, gt=None, le=None, lt=None, choices=None) -> Any:
    """A dataclass field with its help text and allowed values."""
    return dataclasses.field(default=default, metadata=dict(help=help, ge=ge, gt=gt, le=le, lt=lt, choices=choices))
