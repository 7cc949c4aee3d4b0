"""The per-epoch CSV log of a run: rewritten atomically, so it is never half-written or duplicated."""

from __future__ import annotations

import csv
import io
import os

from .atomic import write_text

BASE_COLUMNS = ["epoch", "step", "seconds", "d_loss", "g_loss", "d_real", "d_fake"]


def read_log(path: str) -> list[dict]:
    """Rows of a run's log.csv (values as strings); [] when there is none yet."""
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_log(path: str, rows: list[dict]) -> None:
    """Write all rows (columns: the base ones, then any extra in first-seen order)."""
    columns = list(BASE_COLUMNS)
    for row in rows:
        for key in row:
            if key not in columns and any(r.get(key) not in (None, "") for r in rows):
                columns.append(key)  # extra columns only while a row has a value for them
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    write_text(path, buf.getvalue())


def append_row(path: str, row: dict) -> list[dict]:
    """Add one epoch's row, replacing any older row for the same epoch; returns all rows."""
    rows = [r for r in read_log(path) if int(r["epoch"]) != int(row["epoch"])]
    rows.append(row)
    rows.sort(key=lambda r: int(r["epoch"]))
    write_log(path, rows)
    return rows


def truncate_after(path: str, epoch: int) -> None:
    """Drop rows for epochs after `epoch` (work lost since the last checkpoint is redone)."""
    rows = read_log(path)
    kept = [r for r in rows if int(r["epoch"]) <= epoch]
    if len(kept) != len(rows):
        write_log(path, kept)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return v
