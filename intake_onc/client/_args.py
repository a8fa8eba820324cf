"""Up-front checks of public arguments: a wrong type fails here, naming the argument, what was
expected and what to do, instead of deep inside (``AttributeError: 'int' object has no
attribute 'lstrip'``).

Examples
--------
>>> check_int(3, "workers", minimum=1)
3
>>> check_int("3", "workers", minimum=1)
Traceback (most recent call last):
TypeError: workers: expected an integer >= 1, got str '3'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["check_bool", "check_int", "check_number", "check_str", "check_strings"]


def _got(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def check_bool(value: Any, argument: str, *, optional: bool = False) -> bool | None:
    """``value`` if it is True or False (or None when ``optional``), else TypeError."""
    if isinstance(value, bool) or (optional and value is None):
        return value
    raise TypeError(
        f"{argument}: expected True or False{' (or None)' if optional else ''}, got {_got(value)}"
    )


def check_int(value: Any, argument: str, *, minimum: int = 0, optional: bool = False) -> int | None:
    """``value`` if it is an int (not a bool) >= ``minimum`` (or None when ``optional``)."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{argument}: expected an integer >= {minimum}, got {_got(value)}")
    if value < minimum:
        raise ValueError(f"{argument}: expected an integer >= {minimum}, got {value!r}")
    return value


def check_number(
    value: Any, argument: str, *, minimum: float = 0.0, optional: bool = False
) -> float | None:
    """``value`` as a finite float >= ``minimum`` (or None when ``optional``)."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{argument}: expected a number >= {minimum:g}, got {_got(value)}")
    number = float(value)
    if not math.isfinite(number) or number < minimum:
        raise ValueError(f"{argument}: expected a finite number >= {minimum:g}, got {value!r}")
    return number


def check_str(value: Any, argument: str, *, example: str, optional: bool = False) -> str | None:
    """``value`` stripped if it is a non-blank string (or None when ``optional``)."""
    if optional and value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{argument}: expected a string such as {example!r}, got {_got(value)}")
    if not value.strip():
        raise ValueError(f"{argument}: expected a string such as {example!r}, got {value!r}")
    return value.strip()


def check_strings(
    value: Any, argument: str, *, example: str, optional: bool = False
) -> list[str] | None:
    """A string or a list/tuple/set of strings, as a list (or None when ``optional``)."""
    if optional and value is None:
        return None
    if isinstance(value, str):
        return [check_str(value, argument, example=example)]  # type: ignore[list-item]
    if not isinstance(value, Iterable) or isinstance(value, (bytes, bytearray, dict)):
        raise TypeError(
            f"{argument}: expected a string such as {example!r} or a list of them, "
            f"got {_got(value)}"
        )
    items = list(value)
    if not items:
        raise ValueError(f"{argument}: expected at least one value such as {example!r}, got []")
    return [check_str(v, argument, example=example) for v in items]  # type: ignore[misc]
