"""TorchServe handler of the tier's tiny model: a JSON list of 4 floats in, the model's 2 outputs
out. The smallest real handler: TorchServe loads the TorchScript file, batches requests and calls
`handle` for each batch."""

from __future__ import annotations

import json
from typing import Any

import torch


class TinyHandler:
    def __init__(self) -> None:
        self.model: Any = None

    def initialize(self, context: Any) -> None:
        model_dir = context.system_properties.get("model_dir")
        self.model = torch.jit.load(f"{model_dir}/tiny.pt", map_location="cpu")
        self.model.eval()

    def handle(self, data: list[dict[str, Any]], context: Any) -> list[list[float]]:
        rows = []
        for item in data:
            body: Any = item.get("body") or item.get("data")
            if isinstance(body, (bytes, bytearray)):
                body = json.loads(body)
            rows.append([float(x) for x in body or []])
        with torch.no_grad():
            out = self.model(torch.tensor(rows, dtype=torch.float32))
        return [[round(float(v), 6) for v in row] for row in out]


_service = TinyHandler()


def handle(data: list[dict[str, Any]] | None, context: Any) -> list[list[float]] | None:
    if _service.model is None:
        _service.initialize(context)
    if data is None:
        return None
    return _service.handle(data, context)
