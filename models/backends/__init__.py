"""Model backends behind one Protocol, built by `make_backend`."""

from lspilot.models.backends.base import (
    Backend,
    BackendError,
    GenerationParams,
    GenerationStats,
    Message,
    make_backend,
)

__all__ = ["Backend", "BackendError", "GenerationParams", "GenerationStats", "Message",
           "make_backend"]
