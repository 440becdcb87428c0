"""The registry of architectures as data: names, arguments, descriptions and layouts, with no torch.

`models.py` builds them; this module is what a model file's metadata is checked against before
anything is built (the recogniser checks ONNX metadata without importing torch). A registered name
keeps its meaning forever; a new variant gets a new name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import DigitrecError

MemoryFormat = Literal["channels_last", "contiguous"]
# Sane ranges for the size arguments a model file may pass (a hostile one could ask for gigabytes).
KWARG_RANGES = {"width": (1, 256), "blocks": (1, 8), "head": (0, 2048), "classes": (10, 11)}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    factory: str  # the function of models.py that builds it
    arguments: tuple[str, ...]  # the keyword arguments the factory takes
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # The layout it trains fastest in, measured per model on two 2-core CPUs. For the training step,
    # under bf16 on an AMD EPYC: channels-last 1.3x faster for cnn and lenet, 1.5x for digitnet; in
    # fp32 on an Intel Xeon: 1.1x for cnn, 1.5x for digitnet, even for lenet. convnet-bn's 6- and
    # 16-channel maps are faster contiguous (1.4x on the EPYC, 2x on the Xeon).
    memory_format: MemoryFormat = "contiguous"


_DIGITNET = ("width", "blocks", "head", "classes")
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec("mlp", "mlp", ("classes",), description="784-256-64-10, the classic tutorial MLP"),
        ModelSpec("mlp-deep", "mlp_deep", ("classes",), description="784-512-256-256-128-64-10"),
        ModelSpec("lenet", "lenet", ("classes",), description="two 5x5 convs, fc 320-50-10 (pytorch/examples era)",
                  memory_format="channels_last"),
        ModelSpec("cnn", "cnn", ("classes",), description="two 5x5 convs (16, 32) with padding, fc 1568-10",
                  memory_format="channels_last"),
        ModelSpec("convnet-bn", "convnet_bn", ("classes",),
                  description="two 5x5 convs (6, 16) with BatchNorm, fc 784-10"),
        ModelSpec("digitnet", "digitnet", _DIGITNET, {"width": 32},
                  "ours: 3 conv-BN stages 32-64-128, the default", memory_format="channels_last"),
        ModelSpec("digitnet-s", "digitnet", _DIGITNET, {"width": 16}, "ours, narrow (16-32-64): the speedrun",
                  memory_format="channels_last"),
        ModelSpec("digitnet-m", "digitnet", _DIGITNET, {"width": 16, "head": 128},
                  "ours, narrow with a 3x3 conv head: the shipped model", memory_format="channels_last"),
    ]
}


def get_spec(name: Any) -> ModelSpec:
    if not isinstance(name, str) or name not in REGISTRY:
        raise DigitrecError(f"unknown model {name!r}", "not an architecture digitrec knows",
                            f"choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def check_kwargs(name: str, kwargs: Any) -> dict[str, int]:
    """The full keyword arguments for `name`: its registered ones updated by `kwargs`, each checked
    to be known to its factory, an integer, and in a sane range."""
    spec = get_spec(name)
    if not isinstance(kwargs, dict):
        raise DigitrecError(f"model {name}", "its arguments are not a JSON object", kind="bad-model")
    for key, value in kwargs.items():
        if key not in spec.arguments:
            raise DigitrecError(f"model {name}", f"unknown argument {key!r}",
                                f"it takes {', '.join(spec.arguments)}", kind="bad-model")
        low, high = KWARG_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise DigitrecError(f"model {name}", f"argument {key}={value!r} is out of range",
                                f"it must be an integer from {low} to {high}", kind="bad-model")
    return {**spec.kwargs, **kwargs}
