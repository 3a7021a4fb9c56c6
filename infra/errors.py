"""Errors the command line turns into one clear line and an exit code (the project's convention,
pinterest_pipeline/errors.py: 1 failed, 2 bad arguments or settings, 5 AWS unreachable)."""

from pinterest_pipeline.errors import ConfigError as _BadSettings
from pinterest_pipeline.errors import PipelineError, ServiceError


class InfraError(PipelineError):
    """Base error of the provisioning code (exit code 1)."""


class ConfigError(InfraError, _BadSettings):
    """Bad arguments or settings, detected before any change is made (exit code 2)."""


class ConflictError(InfraError):
    """A resource with one of our names exists but does not belong to this deployment."""


class MissingDependencyError(InfraError):
    """A component needs a resource of another component that does not exist yet."""


__all__ = ["ConfigError", "ConflictError", "InfraError", "MissingDependencyError", "ServiceError"]
