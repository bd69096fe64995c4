"""The run's CSV logs (train_log.csv, val_log.csv): rows appended as training goes, a header that widens when a
new column appears, and the rows after a resumed checkpoint dropped (they are written again)."""
from __future__ import annotations

import csv
from pathlib import Path

from model.files import atomic_path


def append_csv(path: Path, rows: list[dict]) -> None:
    """Append rows; a new column (a loss that starts after a warm-up) widens the header, earlier rows blank."""
    fields = list(rows[0])
    if not path.exists():
        write_csv(path, fields, rows)
        return
    header, old = read_csv(path)
    if set(fields) <= set(header):
        with open(path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=header, restval="").writerows(rows)
        return
    write_csv(path, header + [k for k in fields if k not in header], old + rows)


def drop_rows_after(path: Path, iteration: int) -> None:
    """On resume, forget log rows written after the checkpoint (they will be written again)."""
    if not path.exists():
        return
    header, rows = read_csv(path)
    if rows:
        write_csv(path, header, [r for r in rows if int(r["iteration"]) <= iteration])


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
