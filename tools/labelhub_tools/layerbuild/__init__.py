"""The SCF layer build: ``python -m labelhub_tools build-layer``.

SCF unpacks a layer at ``/opt`` and runs Python with ``PYTHONPATH=/var/user:/opt``, so
the layer holds, flat at its root, the engine package (without its dev tools) and the
pinned runtime dependencies of ``layer/requirements.txt``, installed for the target
runtime (``manylinux2014_x86_64``, CPython 3.10 by default), optionally byte-compiled
by an interpreter of that version, then zipped deterministically.

Modules: ``engine`` (what of ``grafana_scf`` ships, and the check that it never imports
what does not), ``deps`` (pip for the target, pins, pruning, byte-compiling),
``archive`` (the deterministic zip and the size report), ``cli`` (the command).
Everything here uses the standard library only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelhub_tools import REPO_ROOT

if TYPE_CHECKING:
    from labelhub_tools.layerbuild.build import BuildOptions, BuildReport

LAYER_SOURCE = REPO_ROOT / "layer"
"""``layer/``: the engine's parent folder, holding ``requirements.txt`` and ``build/``."""

BUILD_DIR = LAYER_SOURCE / "build"
DEFAULT_OUT = BUILD_DIR / "layer"
DEFAULT_ZIP = BUILD_DIR / "grafana-scf-layer.zip"
DEFAULT_WHEELS = BUILD_DIR / "wheels"
REQUIREMENTS = LAYER_SOURCE / "requirements.txt"
DEFAULT_PYTHON_VERSION = "3.10"


class LayerBuildError(RuntimeError):
    """The layer cannot be built; the message says what to fix."""


def build_layer(options: BuildOptions | None = None) -> BuildReport:
    """Build the layer folder and zip; see ``labelhub_tools.layerbuild.build.build_layer``."""
    from labelhub_tools.layerbuild.build import build_layer as _build_layer

    return _build_layer(options)


__all__ = [
    "DEFAULT_OUT",
    "DEFAULT_PYTHON_VERSION",
    "DEFAULT_WHEELS",
    "DEFAULT_ZIP",
    "REQUIREMENTS",
    "LayerBuildError",
    "build_layer",
]
