"""The one set-up call of every chapter notebook: seed, device, plotting style (all chapters).

The first code cell of each notebook runs::

    import coursekit as ck
    device = ck.setup_notebook(seed=0)

It seeds Python, NumPy and PyTorch, picks the device (CUDA when available, else CPU; the
environment variable ``COURSEKIT_DEVICE`` overrides, e.g. ``COURSEKIT_DEVICE=cpu``), sets the
plotting defaults, and prints one line saying what it chose.
"""

from __future__ import annotations

import os
import platform

import torch

from coursekit.rng import seed_everything

__all__ = ["DEVICE_ENV", "default_device", "on_gpu", "setup_notebook"]

DEVICE_ENV = "COURSEKIT_DEVICE"


def default_device() -> torch.device:
    """The device the notebooks use: ``$COURSEKIT_DEVICE`` if set, else CUDA if available, else CPU.

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: If ``$COURSEKIT_DEVICE`` names a device that does not exist here.
    """
    requested = os.environ.get(DEVICE_ENV, "").strip()
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as error:
            raise ValueError(f"{DEVICE_ENV}={requested!r} is not a torch device name ({error})") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{DEVICE_ENV}={requested!r} but CUDA is not available on this machine")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def on_gpu(device: torch.device | str | None = None) -> bool:
    """Whether ``device`` (default: :func:`default_device`) is a GPU; chapters train longer there."""
    device = torch.device(device) if device is not None else default_device()
    return device.type == "cuda"


def setup_notebook(seed: int = 0, *, device: str | torch.device | None = None, quiet: bool = False) -> torch.device:
    """Seed everything, choose the device, set the plotting style, and say what was chosen.

    Args:
        seed: Seed for Python, NumPy and PyTorch.
        device: Force a device; default: :func:`default_device`.
        quiet: Do not print the summary line.

    Returns:
        The chosen ``torch.device``.
    """
    seed_everything(seed)
    chosen = torch.device(device) if device is not None else default_device()
    try:
        from coursekit import plotting

        plotting.set_style()
    except ImportError:  # matplotlib missing: the library still works without figures
        pass
    if not quiet:
        from coursekit import __version__

        where = torch.cuda.get_device_name(chosen) if chosen.type == "cuda" else platform.processor() or "CPU"
        print(
            f"coursekit {__version__}, torch {torch.__version__}; device: {chosen} ({where}); seed: {seed}. "
            f"Set {DEVICE_ENV} to choose another device."
        )
    return chosen
