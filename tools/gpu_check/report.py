"""results.json and results.md of a GPU check, rewritten after every section."""
from __future__ import annotations

import json
from pathlib import Path

from model.files import write_text_atomic


def _flat(value, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [row for key, item in value.items() for row in _flat(item, f"{prefix}{key}.")]
    if isinstance(value, float):
        value = f"{value:.4g}"
    return [(prefix[:-1], value)]


def markdown(results: dict) -> str:
    device = next((e["result"].get("gpu") or e["result"].get("cpu") for e in results["sections"].values()
                   if isinstance(e.get("result"), dict) and ("gpu" in e["result"] or "cpu" in e["result"])), "?")
    lines = [f"# GPU check on {device}" + (" (smoke: toy sizes)" if results.get("smoke") else ""), "",
             f"Started {results['started']}; `python -m tools.gpu_check`.", ""]
    for name, entry in results["sections"].items():
        lines += [f"## {name}: {entry['status']} ({entry['seconds']} s of {entry['limit_s']} s)", ""]
        if "error" in entry:
            lines += [f"Error: `{entry['error']}`", ""]
        rows = _flat(entry.get("result", {}))
        if rows:
            lines += ["| what | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), ""]
    return "\n".join(lines)


def write_results(out: Path, results: dict) -> None:
    write_text_atomic(out / "results.json", json.dumps(results, indent=2, default=str) + "\n")
    write_text_atomic(out / "results.md", markdown(results) + "\n")
