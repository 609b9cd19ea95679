"""Fixtures for the deploy tests: a Python 3.10 interpreter and one layer build per session.

The build installs from the wheel cache under ``layer/build/wheels`` (filled by the first
build on a machine), so only a changed pin reaches the package index.
"""

from __future__ import annotations

import pytest

from labelhub_tools.layerbuild import LayerBuildError
from labelhub_tools.layerbuild.build import BuildOptions, build_layer
from labelhub_tools.layerbuild.deps import find_python


@pytest.fixture(scope="session")
def python310() -> str:
    """The path of a CPython 3.10 (the functions' runtime); the tests needing one skip without."""
    try:
        return find_python("3.10")
    except LayerBuildError as exc:
        pytest.skip(f"no Python 3.10 interpreter: {exc}")


@pytest.fixture(scope="session")
def layer_build(tmp_path_factory, python310):
    """The layer built once for the session: folder, zip and report."""
    folder = tmp_path_factory.mktemp("layer-build")
    return build_layer(BuildOptions(out=folder / "layer", zip_path=folder / "layer.zip", python=python310))
