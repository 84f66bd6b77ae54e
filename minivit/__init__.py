__version__ = "0.1.0"

# Submodules load on first use (`minivit.vit`, ...), so the demo's ONNX-only code paths never import PyTorch.
import importlib as _importlib

_SUBMODULES = ("contract", "attention", "block", "patch_embed", "vit", "data", "train", "measure", "grid", "search_results",
               "tune_internals", "search", "search_cli", "export", "inference", "bench", "preprocess", "explain", "app", "serve")

def __getattr__(name):
    if name in _SUBMODULES: return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_SUBMODULES))
