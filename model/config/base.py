"""What every model config is: :class:`ModelConfig`, the settings all families share, and its three methods -
:meth:`~ModelConfig.validate` (the family's cross-field checks), :meth:`~ModelConfig.to_json` and
:meth:`~ModelConfig.with_overrides`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, TypeVar

from model import settings
from model.config.sections import Preprocessing
from model.errors import InputError
from model.settings import FreeForm, internal, setting

C = TypeVar("C", bound="ModelConfig")


class ConfigError(InputError):
    """A config that cannot be used, printed as ``<file>: <key path>: <problem>``."""


@dataclass(frozen=True)
class ModelConfig:
    """What every config has. ``source`` names the file in every error (it is not a setting)."""

    region: str = setting()
    pipeline: str = setting(note="the model family (model.config.families)")
    preprocessing: Preprocessing = setting(Preprocessing())
    weights: dict[str, str] | None = setting(None, note="network -> weights file (a model folder's)")
    provenance: FreeForm | None = setting(None, note="how the weights were made (written by training): any JSON "
                                                     "object, kept as written")
    source: str = internal("config")

    def validate(self) -> None:
        """The family's cross-field checks, called once when a config is read (and again after
        :meth:`with_overrides`): raise :class:`model.settings.Invalid` naming the key path. What needs a built
        network or a device is checked where those are."""

    def to_json(self, defaults: bool = False) -> dict:
        """The config as JSON: every key it was read with (nothing of a model folder's provenance is lost), and
        every setting changed since; :func:`model.config.parse_config` reads it back to an equal config.
        ``defaults``: every setting, defaults included."""
        return settings.to_json(self, defaults)

    def with_overrides(self: C, changes: Mapping[str, Any], error: type[InputError] = ConfigError) -> C:
        """A copy with ``changes`` (key path -> value: ``{"training.iterations": 10}``, or a whole section:
        ``{"latent": {"scale_factor": 1.0}}``) applied, checked and validated again; ``settings.UNSET`` removes
        a key. A bad key or value is one ``error`` line naming this config's file and the key path."""
        if "pipeline" in changes:
            raise error(self.source, "pipeline: the model family of a config cannot change (read another config)")
        try:
            return settings.with_overrides(self, changes)
        except settings.Invalid as err:
            raise error(self.source, f"{err.key}: {err.problem}") from None


def parse_family(cls: type[C], data: dict, source: str | Path, error: type[InputError]) -> C:
    """``data`` read as the family's config class ``cls`` and validated; ``source`` is the file errors name."""
    config = settings.parse_settings(cls, data, source, error)
    return settings.replace(config, source=str(source))
