__version__ = "0.1.0"

# Submodules load on first use (`minivit.vit`, ...), so the demo's ONNX-only code paths never import PyTorch.
import importlib as _importlib

_SUBMODULES = ("attention", "block", "encoder", "vit", "data", "train", "grid", "preprocess", "explain", "app", "export", "inference", "bench")

def __getattr__(name):
    if name in _SUBMODULES: return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_SUBMODULES))
