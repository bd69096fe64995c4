"""The case cache: each training case read and checked once, then read patch by patch by every training process.

A training case is read through :func:`model.cases.read_case` (the container's
reader and checks), its CT resampled onto the MR's grid, the MR normalised, and
written uncompressed into its own folder::

    <cache>/<case>-<key>/mr.npy       float32, network units ([-1, 1], -1 outside the body): bit for bit
                                      what the in-memory path computes
    <cache>/<case>-<key>/ct.npy       int16 HU clipped to [-1024, 3071] (the network's range); converted to
                                      network units per patch, exactly as before for an integer CT
    <cache>/<case>-<key>/centres.npy  int32 (n, 3): the body voxels patches are centred on
    <cache>/<case>-<key>/meta.json    the key's inputs, shapes, spacing, and the CT's rounding error

``key`` hashes everything that shapes the arrays: the cache format, the MR
percentiles, the patch-centre draw (seed, limit), and each source file's
resolved path, size and modification time. A change rebuilds only the cases it
touches; an entry of the same case under another key is removed when its
replacement is written. Entries are written into a temporary folder and renamed
into place, so a reader never sees half an entry. Under torchrun, rank 0 builds
and the others wait, then all map the same files.

Training patches are read from these files with ``pread``, slice by slice
(:class:`ArrayFile`): a process keeps no copy of the volumes and maps none of
them, so its resident memory does not grow with the number of cases. The
bytes read stay in the kernel's page cache, shared by every process and dropped
under pressure. (Memory maps were the first try: the pages a patch touches -
one per image row, a patch touches thousands - count in the process's resident
set and stay there, 0.7-0.9 GiB after 30 iterations here.)
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from model.errors import InputError
from model.preprocessing.intensity import HU_MAX, HU_MIN, ct_to_unit
from model.train.data import MAX_CENTRES, crop_patch, load_training_case

FORMAT = 1  # bump when the arrays or their meaning change


class ArrayFile:
    """An uncompressed C-order ``.npy`` array read on demand with ``pread``: ``shape``, ``len()`` and indexing by
    an integer (a row) or a tuple of step-1 slices (a block), as the patch sampler needs. Reading leaves no
    mapping and no buffer behind; the file descriptor is safe to share with forked loader workers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            self.shape, fortran, self.dtype = read_header(f)
            self.offset = f.tell()
        if fortran:
            raise ValueError(f"{self.path}: a Fortran-order array")
        self.fd = os.open(self.path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, start: int, count: int) -> np.ndarray:
        nbytes = count * self.dtype.itemsize
        data = os.pread(self.fd, nbytes, self.offset + start * self.dtype.itemsize)
        if len(data) != nbytes:
            raise InputError(self.path, "truncated case cache file; delete its entry and it is built again")
        return np.frombuffer(data, dtype=self.dtype)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):  # a row
            row = int(index)
            size = int(np.prod(self.shape[1:], dtype=np.int64))
            return self._read(row * size, size).reshape(self.shape[1:])
        z, y, x = (s.indices(n) for s, n in zip(index, self.shape))  # a block: one read per z-slice
        nz, ny = max(0, z[1] - z[0]), max(0, y[1] - y[0])
        out = np.empty((nz, ny, self.shape[2]), dtype=self.dtype)
        row = self.shape[2]
        for i, k in enumerate(range(z[0], z[1])):
            out[i] = self._read((k * self.shape[1] + y[0]) * row, ny * row).reshape(ny, row)
        return out[:, :, x[0]:x[1]]

    def __del__(self):
        fd = getattr(self, "fd", None)
        if fd is not None:
            os.close(fd)


@dataclass
class CachedCase:
    """A training case as the patch sampler reads it: arrays read on demand from the cache's files."""

    case_id: str
    mr_unit: ArrayFile  # float32 (z, y, x), network units
    ct_hu: ArrayFile  # int16 (z, y, x), HU in [-1024, 3071]
    centres: ArrayFile  # int32 (n, 3)

    def mr_patch(self, centre, size) -> np.ndarray:
        return crop_patch(self.mr_unit, centre, size, -1.0)

    def ct_patch(self, centre, size) -> np.ndarray:
        """Cut in HU, then converted: the same float32 values as cutting the in-memory case's ``ct_unit``."""
        return ct_to_unit(crop_patch(self.ct_hu, centre, size, HU_MIN))


def default_cache_dir(data_dir: Path, out_dir: Path) -> Path:
    """``<data>/.sct-cache`` where the data folder is writable (shared by every run on that data), else
    ``<out>/cache``."""
    data_dir = Path(data_dir)
    return data_dir / ".sct-cache" if os.access(data_dir, os.W_OK) else Path(out_dir) / "cache"


class CaseCache:
    def __init__(self, root: Path, percentiles: tuple[float, float], seed: int):
        self.root = Path(root)
        self.percentiles = tuple(float(p) for p in percentiles)
        self.seed = int(seed)

    def key(self, paths: dict[str, Path]) -> str:
        sources = {}
        for role, path in sorted(paths.items()):
            stat = Path(path).stat()
            sources[role] = [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]
        what = {"format": FORMAT, "mr_percentiles": self.percentiles, "centres": [self.seed, MAX_CENTRES], "sources": sources}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    def folder(self, case_id: str, paths: dict[str, Path]) -> Path:
        return self.root / f"{case_id}-{self.key(paths)}"

    def missing(self, cases: dict[str, dict[str, Path]]) -> list[str]:
        return [c for c, paths in cases.items() if not (self.folder(c, paths) / "meta.json").is_file()]

    def build(self, cases: dict[str, dict[str, Path]]) -> list[str]:
        """Write every missing entry of ``cases`` (case id -> {"mr", "ct", "mask"} paths); returns those built."""
        todo = self.missing(cases)
        if not todo:
            return []
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(self.root, f"cannot create the case cache ({err.strerror}); choose another with --cache") from None
        for case_id in tqdm(todo, desc=f"case cache {self.root}", unit="case", mininterval=1):
            self._build_one(case_id, cases[case_id])
        return todo

    def _build_one(self, case_id: str, paths: dict[str, Path]) -> None:
        target = self.folder(case_id, paths)
        case = load_training_case(case_id, paths, self.percentiles, self.seed)
        ct_hu = np.clip(case.ct, HU_MIN, HU_MAX)
        ct_int = np.rint(ct_hu).astype(np.int16)
        rounding = float(np.abs(ct_int - ct_hu).max()) if ct_hu.size else 0.0
        staging = Path(tempfile.mkdtemp(prefix=f".partial-{case_id}-", dir=self.root))
        try:
            np.save(staging / "mr.npy", np.ascontiguousarray(case.mr_unit, dtype=np.float32))
            np.save(staging / "ct.npy", ct_int)
            np.save(staging / "centres.npy", case.centres.astype(np.int32))
            meta = {"case": case_id, "format": FORMAT, "shape_zyx": list(case.ct.shape),
                    "spacing_xyz": list(case.inputs.mr_image.GetSpacing()), "mr_percentiles": list(self.percentiles),
                    "sources": {role: str(p) for role, p in paths.items()}, "ct_rounding_max_hu": round(rounding, 4),
                    "bytes_per_voxel": 4 + 2}
            (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
            shutil.rmtree(target, ignore_errors=True)  # an entry left incomplete by hand
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for stale in self.root.glob(f"{glob.escape(case_id)}-*"):  # the same case under an older key
            key = stale.name[len(case_id) + 1:]  # exactly 16 hex digits: not "<case_id>-b-<key>", another case's
            if stale != target and stale.is_dir() and len(key) == 16 and all(c in "0123456789abcdef" for c in key):
                shutil.rmtree(stale, ignore_errors=True)

    def open(self, case_id: str, paths: dict[str, Path]) -> CachedCase:
        folder = self.folder(case_id, paths)
        try:
            arrays = {name: ArrayFile(folder / f"{name}.npy") for name in ("mr", "ct", "centres")}
        except (OSError, ValueError) as err:
            raise InputError(folder, f"unreadable case cache entry ({err}); delete it and it is built again") from None
        return CachedCase(case_id, arrays["mr"], arrays["ct"], arrays["centres"])

    def meta(self, case_id: str, paths: dict[str, Path]) -> dict:
        return json.loads((self.folder(case_id, paths) / "meta.json").read_text())
