"""docs/config.md's tables of every setting are what model.config declares (tools.config_reference): a setting
changed in the code fails here until ``python -m tools.config_reference --write`` rewrites the page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from model.config.base import ModelConfig
from model.config.families import Family
from model.settings import setting
from tools import config_reference
from tools.config_reference import END, PAGE, START, generate, main, splice, table


def test_the_page_is_current(capsys):
    page = PAGE.read_text()
    assert page.count(START) == 1 and page.count(END) == 1
    assert splice(page, generate()) == page, "run: python -m tools.config_reference --write"
    assert main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_the_tables_hold_the_settings():
    text = generate()
    assert "#### `training`, `training.autoencoder`, `training.diffusion`, `training.controlnet`" in text
    assert "| `iterations` | int | required | >= 1 |  |" in text
    assert "| `amp` | false / \"bf16\" | false |  | bfloat16 mixed precision: false or \"bf16\" |" in text
    assert "| `spacing_mm` | 3 x float or null | none | > 0, 3 items |" in text
    assert "| `tta_flips` | list of \"x\" / \"y\" / \"z\" | [] |  |" in text
    assert text.index("### Both families") < text.index("### Pix2Pix") < text.index("### Latent diffusion")


def test_a_stale_page_is_caught_and_rewritten(tmp_path, capsys):
    page = tmp_path / "config.md"
    current = PAGE.read_text()
    row = "| `iterations` | int | required | >= 1 |  |"
    page.write_text(current.replace(row, "| `iterations` | int | required | >= 2 |  |"))
    assert main(["--check", "--page", str(page)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["--write", "--page", str(page)]) == 0
    assert page.read_text() == current
    assert main(["--check", "--page", str(page)]) == 0
    page.write_text("# no markers\n")
    assert main(["--check", "--page", str(page)]) == 1
    assert "markers" in capsys.readouterr().err


def test_print_is_the_generated_part(capsys):
    assert main([]) == 0
    assert capsys.readouterr().out == generate()


# A changed setting changes the table: two tiny families, built on one config and sharing one section.
@dataclass(frozen=True)
class Shared:
    """The shared section (``shared``)."""

    steps: int = setting(10, minimum=1, note="a | in a note")


@dataclass(frozen=True)
class Part:
    size: tuple[int, int, int] = setting(item_minimum=1)
    rate: float = setting(0.5, above=0, maximum=1)
    mode: Literal["a", "b"] = setting("a")
    flips: tuple[bool, ...] | None = setting(None, length=2)


@dataclass(frozen=True)
class ConfigA(ModelConfig):
    shared: Shared = setting(Shared())
    part: Part | None = setting(None)


@dataclass(frozen=True)
class ConfigB(ModelConfig):
    shared: Shared = setting(Shared())
    lr: float = setting(1e-4, minimum=0)


def tiny_families(config_a=ConfigA):
    return {name: Family(name, cls, pipeline="", weights={}, tasks=())
            for name, cls in (("a", config_a), ("b", ConfigB))}


def test_a_tiny_schema():
    assert table(Part).splitlines() == [
        "| key | type | default | range | note |",
        "|---|---|---|---|---|",
        "| `size` | 3 x int | required | items >= 1 |  |",
        "| `rate` | float | 0.5 | > 0, <= 1 |  |",
        "| `mode` | \"a\" / \"b\" | \"a\" |  |  |",
        "| `flips` | list of bool or null | none | 2 items |  |",
    ]
    text = generate(tiny_families())
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        "### Both families", "#### (top level)", "#### `preprocessing`", "#### `shared`",
        '### `"pipeline": "a"`', "#### (top level)", "#### `part`",
        '### `"pipeline": "b"`', "#### (top level)"]
    assert "The shared section (`shared`).\n" in text
    assert "| `steps` | int | 10 | >= 1 | a \\| in a note |" in text
    assert "| `part` | section or none | none |  |  |" in text
    assert "| `lr` | float | 0.0001 | >= 0 |  |" in text
    assert text.count("Besides the common keys above.") == 2
    assert "| `region` |" in text and text.count("| `region` |") == 1  # the shared keys once


@dataclass(frozen=True)
class ChangedPart(Part):
    rate: float = setting(0.5, above=0, maximum=2)  # was maximum=1


@dataclass(frozen=True)
class ChangedA(ConfigA):
    part: ChangedPart | None = setting(None)


def test_a_changed_setting_changes_the_tables():
    before, after = generate(tiny_families()), generate(tiny_families(ChangedA))
    assert "| `rate` | float | 0.5 | > 0, <= 1 |  |" in before
    assert "| `rate` | float | 0.5 | > 0, <= 2 |  |" in after
    assert before != after


def test_the_command_is_named_on_the_page():
    assert "python -m tools.config_reference --write" in PAGE.read_text()
    assert config_reference.PAGE.name == "config.md"
