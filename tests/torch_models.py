"""A torch module defined in an importable module, as a project's model code would be."""

from __future__ import annotations

import torch


class MLP(torch.nn.Module):
    def __init__(self, n_in: int, hidden: int = 32, classes: int = 2) -> None:
        super().__init__()
        self.n_in = n_in
        self.hidden = hidden
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
