"""The one set-up call of every chapter notebook: seed, device, plotting style (all chapters).

The first code cell of each notebook runs::

    import coursekit as ck
    device = ck.setup_notebook(seed=0)

It seeds Python, NumPy and PyTorch, picks the device (CUDA when available, else CPU; the
environment variable ``COURSEKIT_DEVICE`` overrides, e.g. ``COURSEKIT_DEVICE=cpu``), sets the
number of CPU threads torch uses, sets the plotting defaults, and prints one line saying what it
chose.

Threads: on the CPU the notebooks run torch with **one** thread unless ``COURSEKIT_THREADS`` says
otherwise. The course's models are small (an MLP of 3x64 on batches of 256), and for them a second
thread buys nothing on a quiet machine, while beside one other busy process it costs a factor of
about 100 (threads spinning for a core another process holds: a Chapter 5 training step took 0.9 ms
with one or two threads on a quiet 2-core machine, 0.9 ms with one thread and 118 ms with two beside
another process). One thread keeps a busy laptop's slowdown close to the share of the CPU that is
left. On a GPU the setting is left alone.
"""

from __future__ import annotations

import os
import platform

import torch

from coursekit.rng import seed_everything

__all__ = ["DEVICE_ENV", "THREADS_ENV", "default_device", "on_gpu", "set_threads", "setup_notebook"]

DEVICE_ENV = "COURSEKIT_DEVICE"
THREADS_ENV = "COURSEKIT_THREADS"


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


def set_threads(device: torch.device) -> int | None:
    """Set torch's CPU thread count for a notebook: ``$COURSEKIT_THREADS``, else 1 on the CPU.

    Args:
        device: The notebook's device; on a GPU nothing is changed unless the variable is set.

    Returns:
        The thread count set, or ``None`` when it was left alone.

    Raises:
        ValueError: If ``$COURSEKIT_THREADS`` is not a positive integer.
    """
    requested = os.environ.get(THREADS_ENV, "").strip()
    if requested:
        if not requested.isdigit() or int(requested) < 1:
            raise ValueError(f"{THREADS_ENV}={requested!r} must be a positive integer (the number of CPU threads)")
        threads = int(requested)
    elif device.type == "cpu":
        threads = 1
    else:
        return None
    torch.set_num_threads(threads)
    return threads


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
    threads = set_threads(chosen)
    try:
        from coursekit.viz import plotting

        plotting.set_style()
    except ImportError:  # matplotlib missing: the library still works without figures
        pass
    if not quiet:
        from coursekit import __version__

        where = torch.cuda.get_device_name(chosen) if chosen.type == "cuda" else platform.processor() or "CPU"
        print(
            f"coursekit {__version__}, torch {torch.__version__}; device: {chosen} ({where}); "
            + (f"{threads} CPU thread{'s' if threads > 1 else ''}; " if threads else "")
            + f"seed: {seed}. Set {DEVICE_ENV} to choose another device."
        )
    return chosen
