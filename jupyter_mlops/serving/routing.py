"""Which version answers a request: weighted traffic, optionally sticky by a header, plus a shadow.

>>> router = Router([(a, 90), (b, 10)], shadow=None, sticky=None)   # doctest: +SKIP
>>> router.pick(None).ref                                         # doctest: +SKIP
'churn:3'
"""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Served:
    """One loaded version: ``ref`` is ``name:version`` (what the ``x-model-version`` header says)."""

    ref: str
    predict: Callable[[Any], Any]
    signature: Mapping[str, Any] | None


class Router:
    """Picks a version for each request, by weight; the same sticky value always gets the same one."""

    def __init__(
        self, routes: Sequence[tuple[Served, float]], shadow: Served | None, sticky: str | None
    ) -> None:
        total = float(sum(w for _, w in routes))
        self.versions = [s for s, _ in routes]
        self.weights = [w / total for _, w in routes]
        self._edges = []
        edge = 0.0
        for weight in self.weights:
            edge += weight
            self._edges.append(edge)
        self._edges[-1] = 1.0
        self.shadow = shadow
        self.sticky = sticky.lower() if sticky else None

    def pick(self, sticky_value: str | None) -> Served:
        if len(self.versions) == 1:
            return self.versions[0]
        if sticky_value is not None:
            digest = hashlib.blake2b(sticky_value.encode(), digest_size=8).digest()
            point = int.from_bytes(digest, "big") / 2**64
        else:
            point = random.random()
        return self.versions[min(bisect.bisect_right(self._edges, point), len(self.versions) - 1)]

    def describe(self) -> dict[str, Any]:
        return {
            "routes": [
                {"model": s.ref, "weight": round(w * 100, 4)}
                for s, w in zip(self.versions, self.weights, strict=True)
            ],
            "shadow": self.shadow.ref if self.shadow else None,
            "sticky": self.sticky,
        }
