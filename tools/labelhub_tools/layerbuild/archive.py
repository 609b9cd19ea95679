"""The layer zip, byte-identical from one build to the next, and what takes the room.

Entries are sorted by path, folders listed before their contents, every time stamp is
1980-01-01 00:00 (the earliest a zip can hold), modes are fixed (0644 files, 0755
folders, Unix-made), paths use ``/``: SCF has refused zips made otherwise (backslashes
from some Windows tools). Content is deflated at level 9.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from labelhub_tools.layerbuild.deps import Distribution

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
DIR_MODE = 0o040755
_UNIX = 3


@dataclass(frozen=True)
class PackageSize:
    """Room one distribution takes in the layer (its dist-info and bytecode included)."""

    name: str
    version: str
    files: int
    bytes: int


def layer_entries(layer: Path) -> list[str]:
    """Every folder (with a trailing ``/``) and file under ``layer``, sorted, ``/``-separated."""
    entries = []
    for path in layer.rglob("*"):
        relative = path.relative_to(layer).as_posix()
        if path.is_symlink():
            raise ValueError(f"{relative}: symbolic links do not survive a layer zip")
        entries.append(relative + "/" if path.is_dir() else relative)
    return sorted(entries)


def write_zip(layer: Path, zip_path: Path) -> int:
    """Zip ``layer`` (its contents at the zip root) into ``zip_path``; the zip's size in bytes."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_path.with_name(zip_path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for entry in layer_entries(layer):
            info = zipfile.ZipInfo(entry, date_time=ZIP_TIME)
            info.create_system = _UNIX
            if entry.endswith("/"):
                info.external_attr = (DIR_MODE << 16) | 0x10
                archive.writestr(info, b"")
            else:
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, (layer / entry).read_bytes())
    os.replace(partial, zip_path)
    return zip_path.stat().st_size


def package_sizes(layer: Path, dists: list[Distribution], engine: tuple[str, str]) -> list[PackageSize]:
    """Installed size per distribution (and the engine), largest first.

    A file belongs to the distribution whose ``RECORD`` lists it (a ``.pyc`` to the owner of
    its source), anything under the engine's folder to the engine.
    """
    owner: dict[str, tuple[str, str]] = {}
    for dist in dists:
        for line in (layer / dist.dist_info.name / "RECORD").read_text(encoding="utf-8").splitlines():
            owner[line.split(",", 1)[0]] = (dist.name, dist.version)
    totals: dict[tuple[str, str], list[int]] = {}
    for entry in layer_entries(layer):
        if entry.endswith("/"):
            continue
        if entry.startswith(engine[0] + "/"):
            key = engine
        else:
            key = owner.get(_source_of(entry), ("(not in any RECORD)", ""))
        total = totals.setdefault(key, [0, 0])
        total[0] += 1
        total[1] += (layer / entry).stat().st_size
    sizes = [PackageSize(name, version, files, size) for (name, version), (files, size) in totals.items()]
    return sorted(sizes, key=lambda p: (-p.bytes, p.name))


def _source_of(entry: str) -> str:
    """``a/__pycache__/m.cpython-310.pyc`` -> ``a/m.py``; other paths unchanged."""
    folder, _, name = entry.rpartition("/")
    if not (folder == "__pycache__" or folder.endswith("/__pycache__")) or not name.endswith(".pyc"):
        return entry
    parent = folder[: -len("__pycache__")]
    return f"{parent}{name.split('.', 1)[0]}.py"


__all__ = ["PackageSize", "layer_entries", "package_sizes", "write_zip"]
