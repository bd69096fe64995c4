"""Change a trained model folder's inference settings: ``python -m tools.model_folder FOLDER KEY=VALUE ...``.

    python -m tools.model_folder runs/headneck-demo/model inference.overlap=0.5
    python -m tools.model_folder runs/pelvis-demo/model 'inference.tta_flips=["x"]'

Only ``inference.*`` keys: how the weights are run, never what they are (the networks and preprocessing are
the weights' own). VALUE is JSON. The config is checked as the pipeline reads it (model.config: a bad key or
value is one line naming the file and the key, and nothing is written), written back, and the folder's
manifest rewritten for the files it lists. A folder whose files no longer match its manifest is refused. What
was set is added to the config's ``provenance.commands``, so the folder says how it differs from what training
exported. The folder changes whole or not at all: the new config and manifest are written into a staged copy
(its other files hard links, not copies: weights are tens of MB) that then takes the folder's place, so a crash
never leaves a config that its manifest does not match.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

from model.cli import exit_code, setup_logging
from model.config import load_config
from model.files import staged_folder
from model.weights import CONFIG, MANIFEST, manifest_entries, verify_manifest, write_config, write_manifest


def setting(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("inference.") or key == "inference.":
        raise argparse.ArgumentTypeError(f"{text!r}: expected inference.KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value is not JSON (a string needs its quotes)") from None


def apply(folder: Path, settings: list[tuple[str, object]], command: str) -> None:
    verify_manifest(folder)  # a folder already changed by hand is refused, not re-hashed into looking sound
    # checked before anything is written; to_json keeps every key the folder's config was read with (provenance)
    config = load_config(folder / CONFIG).with_overrides(dict(settings)).to_json()
    config.setdefault("provenance", {}).setdefault("commands", []).append(command)
    listed = manifest_entries(folder)  # the files it listed (not a TRAINING.md added since)
    with staged_folder(folder.resolve()) as staged:  # resolved: "." or a link names the real folder
        for entry in folder.iterdir():
            if entry.name in (CONFIG, MANIFEST):
                continue
            if entry.is_dir():
                shutil.copytree(entry, staged / entry.name, copy_function=link_or_copy)
            else:
                link_or_copy(entry, staged / entry.name)
        write_config(staged, config)
        write_manifest(staged, listed)


def link_or_copy(source, target) -> None:
    """A hard link to ``source`` at ``target``, or a copy where the file system has no hard links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.model_folder", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="a model folder (config.json, weights, manifest)")
    parser.add_argument("settings", type=setting, nargs="+", metavar="inference.KEY=VALUE")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    setup_logging()
    return exit_code(lambda: apply(args.folder, args.settings,
                                   shlex.join(["python", "-m", "tools.model_folder", *argv])))


if __name__ == "__main__":
    sys.exit(main())
