"""Errors the command line turns into one clear line and a non-zero exit."""


class InfraError(Exception):
    """Base error of the provisioning code."""


class ConfigError(InfraError):
    """Bad arguments or settings, detected before any change is made."""


class ConflictError(InfraError):
    """A resource with one of our names exists but does not belong to this deployment."""


class MissingDependencyError(InfraError):
    """A component needs a resource of another component that does not exist yet."""
