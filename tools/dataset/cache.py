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

A task that trains on its own form of a case (:class:`CaseFit`: the brain stages
fit each case to their model grid) has its entries in a folder of their own,
``<cache>/<fit name>/<case>-<key>/``, with the fitted volumes (``ct.npy`` then
float32 network units: resampled, no longer integer HU) and the fit's settings in
the key. What a task derives from an entry once (the latent stages: each case's
latents under one autoencoder) lives in a subfolder of that entry
(:meth:`CachedCase.derived`), and goes with it when the entry is rebuilt.

``key`` hashes everything that shapes the arrays: the cache format, the MR
percentiles, the patch-centre draw (seed, limit), the fit's settings, and each
source file's resolved path, size and modification time. A change rebuilds only
the cases it touches; an entry of the same case under another key is removed
when its replacement is written. Entries are written into a temporary folder
and renamed into place, so a reader never sees half an entry. Under torchrun,
rank 0 builds and the others wait, then all read the same files.

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
import itertools
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from model.errors import InputError
from model.files import staged_folder
from model.preprocessing.intensity import HU_MAX, HU_MIN, ct_to_unit
from tools.dataset.cases import MAX_CENTRES, TrainingCase, UnitCase, crop_patch, load_training_case

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
        out = np.empty(count, dtype=self.dtype)  # read straight into a writable array
        if os.preadv(self.fd, [memoryview(out).cast("B")], self.offset + start * self.dtype.itemsize) != out.nbytes:
            raise InputError(self.path, "truncated case cache file; delete its entry and it is built again")
        return out

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):  # a row
            row = int(index)
            size = int(np.prod(self.shape[1:], dtype=np.int64))
            return self._read(row * size, size).reshape(self.shape[1:])
        return self.block(index)

    def block(self, index: tuple[slice, ...]) -> np.ndarray:
        """A block given by step-1 slices of the last ``len(index)`` axes (the leading axes whole): one read per
        index of the axes before the last two."""
        index = (slice(None),) * (len(self.shape) - len(index)) + tuple(index)
        ranges = [s.indices(n) for s, n in zip(index, self.shape)]
        (y0, y1, _), (x0, x1, _) = ranges[-2:]
        ny, row = max(0, y1 - y0), self.shape[-1]
        outer = [range(a, b) for a, b, _ in ranges[:-2]]
        out = np.empty((*(len(r) for r in outer), ny, row), dtype=self.dtype)
        strides = [int(np.prod(self.shape[k + 1:-1], dtype=np.int64)) for k in range(len(outer))]  # in rows
        for position, at in zip(itertools.product(*(range(len(r)) for r in outer)), itertools.product(*outer)):
            first_row = sum(i * s for i, s in zip(at, strides)) + y0
            out[position] = self._read(first_row * row, ny * row).reshape(ny, row)
        return out[..., x0:x1]

    def read(self) -> np.ndarray:
        """The whole array."""
        return self._read(0, int(np.prod(self.shape, dtype=np.int64))).reshape(self.shape)

    def __del__(self):
        fd = getattr(self, "fd", None)
        if fd is not None:
            os.close(fd)


@dataclass
class CachedCase:
    """A training case as the patch sampler reads it: arrays read on demand from the cache's files."""

    case_id: str
    mr_unit: ArrayFile  # float32 (z, y, x), network units
    ct: ArrayFile  # (z, y, x): int16 HU in [-1024, 3071], or float32 network units (a fitted case)
    centres: ArrayFile  # int32 (n, 3)
    folder: Path = None  # the entry

    def mr_patch(self, centre, size) -> np.ndarray:
        return crop_patch(self.mr_unit, centre, size, -1.0)

    def ct_patch(self, centre, size) -> np.ndarray:
        """In network units: an int16 CT cut in HU, then converted - the same float32 values as cutting the
        in-memory case's ``ct_unit``."""
        if self.ct.dtype == np.int16:
            return ct_to_unit(crop_patch(self.ct, centre, size, HU_MIN))
        return crop_patch(self.ct, centre, size, -1.0)

    def derived(self, name: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, ArrayFile]:
        """Arrays derived from this case once (``make()``: name -> array) and kept in the entry's subfolder
        ``name``: written the first time, read every later time; a rebuilt entry drops them."""
        folder = self.folder / name
        if not folder.is_dir():
            arrays = make()
            # another process may write it first: theirs is the same, and kept
            with staged_folder(folder, keep_existing=True) as staging:
                for key, array in arrays.items():
                    np.save(staging / f"{key}.npy", np.ascontiguousarray(array))
        return {p.stem: ArrayFile(p) for p in sorted(folder.glob("*.npy"))}


@dataclass(frozen=True)
class CaseFit:
    """A task's own form of a training case, cached instead of the case as read: ``apply`` turns the case into
    the volumes the task trains on (for the brain stages, fitted to the model grid), ``settings`` (JSON) are
    everything it depends on beyond the case and join the key, ``name`` is the folder its entries share."""

    name: str
    settings: dict = field(hash=False)
    apply: Callable[[TrainingCase], UnitCase] = field(hash=False)


def default_cache_dir(data_dir: Path, out_dir: Path) -> Path:
    """``<data>/.sct-cache`` where the data folder is writable (shared by every run on that data), else
    ``<out>/cache``."""
    data_dir = Path(data_dir)
    return data_dir / ".sct-cache" if os.access(data_dir, os.W_OK) else Path(out_dir) / "cache"


class CaseCache:
    """The entries of one form of the training cases under ``root``: as read, or fitted by ``fit`` (then under
    ``root/<fit name>``)."""

    def __init__(self, root: Path, percentiles: tuple[float, float], seed: int, fit: CaseFit | None = None):
        self.root = Path(root) if fit is None else Path(root) / fit.name
        self.percentiles = tuple(float(p) for p in percentiles)
        self.seed = int(seed)
        self.fit = fit

    def key(self, paths: dict[str, Path]) -> str:
        sources = {}
        for role, path in sorted(paths.items()):
            stat = Path(path).stat()
            sources[role] = [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]
        what = {"format": FORMAT, "mr_percentiles": self.percentiles, "centres": [self.seed, MAX_CENTRES], "sources": sources}
        if self.fit is not None:
            what["fit"] = {self.fit.name: self.fit.settings}
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
        meta = {"case": case_id, "format": FORMAT, "mr_percentiles": list(self.percentiles),
                "sources": {role: str(p) for role, p in paths.items()}}
        if self.fit is None:
            ct_hu = np.clip(case.ct, HU_MIN, HU_MAX)
            ct = np.rint(ct_hu).astype(np.int16)
            meta |= {"shape_zyx": list(case.ct.shape), "spacing_xyz": list(case.inputs.mr_image.GetSpacing()),
                     "ct_rounding_max_hu": round(float(np.abs(ct - ct_hu).max()) if ct_hu.size else 0.0, 4),
                     "bytes_per_voxel": 4 + 2}
            unit = case
        else:
            unit = self.fit.apply(case)
            del case  # the whole case goes; only the fitted volumes are written
            ct = unit.ct_unit.astype(np.float32)
            meta |= {"shape_zyx": list(ct.shape), "fit": {self.fit.name: self.fit.settings}, "bytes_per_voxel": 4 + 4}
        with staged_folder(target) as staging:  # replaces an entry left incomplete by hand
            np.save(staging / "mr.npy", np.ascontiguousarray(unit.mr_unit, dtype=np.float32))
            np.save(staging / "ct.npy", np.ascontiguousarray(ct))
            np.save(staging / "centres.npy", np.ascontiguousarray(unit.centres, dtype=np.int32))
            (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
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
        return CachedCase(case_id, arrays["mr"], arrays["ct"], arrays["centres"], folder)

    def meta(self, case_id: str, paths: dict[str, Path]) -> dict:
        return json.loads((self.folder(case_id, paths) / "meta.json").read_text())
