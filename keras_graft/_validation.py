"""Argument checks shared by the whole package, with one message style.

Every check raises `TypeError` (wrong kind of value) or `ValueError` (right
kind, wrong value) with the message

    Argument `name` must be <what is expected>; received name=<value!r>.

as Keras's own optimizers do, and returns the value in its canonical type
(`bool`, `int`, `float`, `str`), so a caller stores what the check returns.
Checks run before anything is changed: a failed call leaves no half-applied
state.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NoReturn, Sequence


def fail(error: type[Exception], name: str, expected: str, value: Any) -> NoReturn:
    """Raise `error` with the package's message for argument `name`."""
    raise error(f"Argument `{name}` must be {expected}; received {name}={value!r}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_bool(value: Any, name: str) -> bool:
    """`value` if it is a bool (numpy's included)."""
    if type(value).__name__ not in ("bool", "bool_"):
        fail(TypeError, name, "a bool", value)
    return bool(value)


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """`value` if it is an int (not a bool) `>= minimum`."""
    expected = "an int" if minimum is None else f"an int >= {minimum}"
    if not _is_int(value):
        fail(TypeError, name, expected, value)
    if minimum is not None and value < minimum:
        fail(ValueError, name, expected, value)
    return int(value)


def check_optional_int(value: Any, name: str, minimum: int | None = None) -> int | None:
    """`None`, or an int `>= minimum`."""
    if value is None:
        return None
    expected = "None or an int" + ("" if minimum is None else f" >= {minimum}")
    if not _is_int(value):
        fail(TypeError, name, expected, value)
    if minimum is not None and value < minimum:
        fail(ValueError, name, expected, value)
    return int(value)


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """`value` as a float if it is a finite real number in the given range.

    Args:
        value (Any): the argument.
        name (str): its name, for the message.
        low (float | None): lower bound, or None.
        high (float | None): upper bound, or None.
        low_open (bool): exclude `low` itself.
        high_open (bool): exclude `high` itself.
    """
    if low is not None and high is not None:
        expected = (
            f"a float in {'(' if low_open else '['}{low:g}, {high:g}"
            f"{')' if high_open else ']'}"
        )
    elif low is not None:
        expected = f"a finite float {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        expected = f"a finite float {'<' if high_open else '<='} {high:g}"
    else:
        expected = "a finite float"
    if not _is_real(value):
        fail(TypeError, name, expected, value)
    x = float(value)
    if not math.isfinite(x):
        fail(ValueError, name, expected, value)
    if low is not None and (x < low or (low_open and x == low)):
        fail(ValueError, name, expected, value)
    if high is not None and (x > high or (high_open and x == high)):
        fail(ValueError, name, expected, value)
    return x


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """`value` if it is one of the strings `choices`."""
    if not isinstance(value, str) or value not in choices:
        fail(ValueError, name, f"one of {list(choices)}", value)
    return value
