"""The project's exceptions: one small hierarchy, so that a command can print one clear line and exit."""


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    exit_code = 1


class ConfigError(PipelineError):
    """Bad arguments or configuration, found before anything was written."""

    exit_code = 2


class InputError(PipelineError):
    """Input that cannot be read at all (a missing raw root, an unreadable location)."""

    exit_code = 3


class LakeBusyError(PipelineError):
    """Another run holds the lake (or wrote the same table at the same moment); nothing was written."""

    exit_code = 4
