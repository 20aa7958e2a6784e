"""Typed configuration read once, at cold start, from the environment the template sets."""

import os
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


def _split_commas(value: object) -> object:
    return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


# A list the template passes as one comma-separated variable (`!Join [",", !Ref Cameras]`).
CommaSeparated = Annotated[list[str], BeforeValidator(_split_commas)]


class ConfigurationError(RuntimeError):
    """The function's environment is not what template.yaml gives it."""


def load_settings[SettingsModel: BaseModel](model: type[SettingsModel]) -> SettingsModel:
    """Validate the environment against `model`; field names are the lower-case variable names."""
    wanted = {name: os.environ[name.upper()] for name in model.model_fields if name.upper() in os.environ}
    try:
        return model.model_validate(wanted)
    except ValidationError as error:
        raise ConfigurationError(f"bad environment for {model.__name__}: {error}") from error
