"""A sweep's search space: ``--grid`` lists crossed with ``--random`` draws, and the configurations in it.

    >>> space = parse_space(["C=[0.1,1]", "penalty=['l1','l2']"], ["lr=loguniform(1e-4,1e-1)"])
    >>> configs = space.configurations(trials=3, seed=0)   # 2 x 2 grid points x 3 draws = 12
    >>> len(configs), sorted(configs[0])
    (12, ['C', 'lr', 'penalty'])

Grid keys are crossed in the order given; random keys are drawn ``trials`` times for each grid point
from one ``random.Random(seed)``, so the same seed gives the same configurations.
"""

from __future__ import annotations

import ast
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidValue
from .capture.code import parse_value

DISTRIBUTIONS = ("uniform(a,b)", "loguniform(a,b)", "int(a,b)", "choice([...])")
MAX_CONFIGURATIONS = 10_000


@dataclass(frozen=True)
class Distribution:
    """One ``--random`` distribution: ``kind`` is uniform, loguniform, int or choice."""

    kind: str
    args: tuple[Any, ...]
    text: str

    def draw(self, rng: random.Random) -> Any:
        if self.kind == "uniform":
            return rng.uniform(*self.args)
        if self.kind == "loguniform":
            low, high = self.args
            return math.exp(rng.uniform(math.log(low), math.log(high)))
        if self.kind == "int":
            return rng.randint(*self.args)
        return rng.choice(self.args[0])


@dataclass(frozen=True)
class Space:
    grid: dict[str, list[Any]]
    random: dict[str, Distribution]

    @property
    def keys(self) -> list[str]:
        return [*self.grid, *self.random]

    def describe(self) -> dict[str, str]:
        """Each key's values or distribution as text: what the parent run records as ``sweep.KEY``."""
        return {
            **{k: repr(v) for k, v in self.grid.items()},
            **{k: d.text for k, d in self.random.items()},
        }

    def size(self, trials: int) -> int:
        points = math.prod(len(v) for v in self.grid.values())
        return points * (trials if self.random else 1)

    def configurations(self, trials: int, seed: int) -> list[dict[str, Any]]:
        """Every configuration, in the order the trials run."""
        rng = random.Random(seed)
        found = []
        for point in itertools.product(*self.grid.values()):
            fixed = dict(zip(self.grid, point, strict=True))
            for _ in range(trials if self.random else 1):
                found.append({**fixed, **{k: d.draw(rng) for k, d in self.random.items()}})
        return found


def parse_space(grid: Sequence[str] | None, random_: Sequence[str] | None) -> Space:
    """The space of ``--grid K=[...]`` and ``--random K=DIST`` arguments; InvalidValue says what to write."""
    lists: dict[str, list[Any]] = {}
    for item in grid or []:
        key, text = _pair(item, "--grid", "C=[0.1,1,10]")
        value = parse_value(text)
        if not isinstance(value, list | tuple) or not value:
            raise InvalidValue(
                f"--grid {key}: give a non-empty list of values, e.g. --grid {key}=[0.1,1,10]; got {text!r}"
            )
        _unique(key, lists, {})
        lists[key] = list(value)
    draws: dict[str, Distribution] = {}
    for item in random_ or []:
        key, text = _pair(item, "--random", "lr=loguniform(1e-4,1e-1)")
        _unique(key, lists, draws)
        draws[key] = parse_distribution(key, text)
    return Space(lists, draws)


def parse_distribution(key: str, text: str) -> Distribution:
    """``uniform(a,b)``, ``loguniform(a,b)``, ``int(a,b)`` or ``choice([...])`` as a Distribution."""
    hint = f"--random {key}=DIST where DIST is one of {', '.join(DISTRIBUTIONS)}"
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise InvalidValue(f"{hint}; got {text!r}") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.keywords:
        raise InvalidValue(f"{hint}; got {text!r}")
    kind = call.func.id
    try:
        args = tuple(ast.literal_eval(a) for a in call.args)
    except (ValueError, SyntaxError, TypeError, RecursionError):
        raise InvalidValue(
            f"--random {key}: the arguments of {kind}(...) must be literals; got {text!r}"
        ) from None
    if kind == "choice":
        if len(args) != 1 or not isinstance(args[0], list | tuple) or not args[0]:
            raise InvalidValue(f"--random {key}: choice takes one non-empty list, e.g. choice(['a','b'])")
        return Distribution(kind, (list(args[0]),), text.strip())
    if kind not in ("uniform", "loguniform", "int"):
        raise InvalidValue(f"{hint}; {kind!r} is not one of them")
    numbers = all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
    if len(args) != 2 or not numbers:
        raise InvalidValue(f"--random {key}: {kind} takes two numbers, e.g. {kind}(1,10); got {text!r}")
    low, high = args
    if not low < high:
        raise InvalidValue(f"--random {key}: {kind}(a,b) needs a < b; got {text!r}")
    if kind == "loguniform" and low <= 0:
        raise InvalidValue(f"--random {key}: loguniform(a,b) needs 0 < a; got {text!r}")
    if kind == "int" and not all(isinstance(a, int) for a in args):
        raise InvalidValue(f"--random {key}: int(a,b) takes two integers; got {text!r}")
    return Distribution(kind, (low, high), text.strip())


def _pair(item: str, flag: str, example: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip().isidentifier() or not value.strip():
        raise InvalidValue(f"{flag} takes KEY=VALUES, e.g. {flag} {example}; got {item!r}")
    return key.strip(), value.strip()


def _unique(key: str, grid: dict[str, Any], draws: dict[str, Any]) -> None:
    if key in grid or key in draws:
        raise InvalidValue(f"{key} is swept twice: give each parameter one --grid or one --random")
