"""OmegaConf containers handed to a config: read as plain data, interpolations resolved.

ato does not depend on OmegaConf. A DictConfig or ListConfig is recognised by the module of
its type, so this check never imports OmegaConf; converting one imports it, which is then
already loaded by whoever made the container.
"""

from __future__ import annotations

from ato.errors import ConfigKeyError, ConfigStructureError

__all__ = ["from_omegaconf", "is_omegaconf"]


def is_omegaconf(value: object) -> bool:
    """Whether ``value`` is an OmegaConf object (a DictConfig or ListConfig, say)."""
    return type(value).__module__.startswith("omegaconf")


def from_omegaconf(value: object) -> object:
    """A DictConfig or ListConfig as plain data, interpolations resolved; a mandatory
    value left unset (``???``) or an interpolation that cannot resolve raises, naming the
    key, instead of becoming the string ``'???'``."""
    from omegaconf import OmegaConf  # only reached when omegaconf is already imported
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    try:
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as error:
        key = getattr(error, "full_key", None) or "?"
        raise ConfigKeyError(
            f"{key!r} is mandatory in the OmegaConf config ('???') but was given no value. "
            f"Set it (e.g. {key}=... on the command line, or in the YAML file) before "
            f"handing the config to ato.",
            key,
        ) from None
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        problem = str(error).split("\n")[0]
        raise ConfigStructureError(
            f"Cannot convert the OmegaConf config at {key!r}: {problem}. Fix the value or "
            f"the interpolation it uses.",
        ) from None
