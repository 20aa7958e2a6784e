"""Typed configuration read once, at cold start, from the environment the template sets."""

import os
from typing import TypeVar

from pydantic import BaseModel, ValidationError

SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


class ConfigurationError(RuntimeError):
    """The function's environment is not what template.yaml gives it."""


def load_settings[SettingsModel: BaseModel](model: type[SettingsModel]) -> SettingsModel:
    """Validate the environment against `model`; field names are the lower-case variable names."""
    wanted = {name: os.environ[name.upper()] for name in model.model_fields if name.upper() in os.environ}
    try:
        return model.model_validate(wanted)
    except ValidationError as error:
        raise ConfigurationError(f"bad environment for {model.__name__}: {error}") from error
