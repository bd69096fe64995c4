"""A small MetaImage (.mha) reader without SimpleITK, for machines that lack it (tools.gpu_check).

Reads one 3-D, single-channel image with its data in the same file (``ElementDataFile = LOCAL``),
raw or zlib-compressed. The result answers the SimpleITK image methods the pipelines use
(``GetSpacing``, ``GetOrigin``, ``GetDirection``, ``GetSize``), so a case read here runs through
the same pipeline code as the container's. The container itself reads with SimpleITK.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import InputError

ELEMENT_TYPES = {
    "MET_CHAR": np.int8, "MET_UCHAR": np.uint8, "MET_SHORT": np.int16, "MET_USHORT": np.uint16,
    "MET_INT": np.int32, "MET_UINT": np.uint32, "MET_LONG_LONG": np.int64, "MET_ULONG_LONG": np.uint64,
    "MET_FLOAT": np.float32, "MET_DOUBLE": np.float64,
}


@dataclass(frozen=True)
class MetaImage:
    array: np.ndarray  # (z, y, x), as SimpleITK's GetArrayFromImage gives it
    spacing: tuple[float, ...]  # (x, y, z), as SimpleITK's GetSpacing
    origin: tuple[float, ...]
    direction: tuple[float, ...]  # row-major 3 x 3

    def GetSpacing(self):  # noqa: N802 - SimpleITK's name, so that pipelines take either
        return self.spacing

    def GetOrigin(self):  # noqa: N802
        return self.origin

    def GetDirection(self):  # noqa: N802
        return self.direction

    def GetSize(self):  # noqa: N802
        return tuple(reversed(self.array.shape))


def _header(data: bytes, path: Path) -> tuple[dict[str, str], int]:
    fields, offset = {}, 0
    while True:
        end = data.find(b"\n", offset)
        if end < 0:
            raise InputError(path, "not a MetaImage: the header has no ElementDataFile line")
        key, _, value = data[offset:end].decode("ascii", "replace").partition("=")
        fields[key.strip()] = value.strip()
        offset = end + 1
        if key.strip() == "ElementDataFile":
            return fields, offset


def read_mha(path: Path) -> MetaImage:
    """A 3-D single-channel .mha image, or :class:`InputError` naming the file and the problem."""
    path = Path(path)
    data = path.read_bytes()
    fields, offset = _header(data, path)
    if fields.get("ElementDataFile") != "LOCAL":
        raise InputError(path, f"data in another file ({fields.get('ElementDataFile')}): only LOCAL is read here")
    size = [int(v) for v in fields.get("DimSize", "").split()]
    if int(fields.get("NDims", 0)) != 3 or len(size) != 3 or int(fields.get("ElementNumberOfChannels", 1)) != 1:
        raise InputError(path, f"expected a 3-D single-channel image, got NDims {fields.get('NDims')}, DimSize {size}")
    kind = fields.get("ElementType")
    if kind not in ELEMENT_TYPES:
        raise InputError(path, f"element type {kind} is not read here")
    dtype = np.dtype(ELEMENT_TYPES[kind]).newbyteorder(">" if fields.get("BinaryDataByteOrderMSB", "False") == "True" else "<")
    raw = data[offset:]
    if fields.get("CompressedData", "False") == "True":
        raw = zlib.decompress(raw)
    count = size[0] * size[1] * size[2]
    if len(raw) < count * dtype.itemsize:
        raise InputError(path, f"truncated: {len(raw)} bytes of data for {count} voxels of {kind}")
    array = np.frombuffer(raw, dtype=dtype, count=count).astype(dtype.newbyteorder("="))
    # MetaIO writes the direction column by column (ITK's MetaImageIO): transposed to SimpleITK's row-major order.
    columns = np.array([float(v) for v in fields.get("TransformMatrix", "1 0 0 0 1 0 0 0 1").split()]).reshape(3, 3)
    return MetaImage(
        array=array.reshape(size[::-1]),
        spacing=tuple(float(v) for v in fields.get("ElementSpacing", "1 1 1").split()),
        origin=tuple(float(v) for v in fields.get("Offset", fields.get("Origin", "0 0 0")).split()),
        direction=tuple(float(v) for v in columns.T.flatten()),
    )
