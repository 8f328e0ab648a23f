"""FIM templates per model family, as data, and how a model's family is detected."""

from lspilot.templates.fim import (
    TEMPLATES,
    ContextFile,
    FimTemplate,
    Prompt,
    RepoLayout,
    Special,
    TemplateError,
    detect_template,
    render,
)

__all__ = ["TEMPLATES", "ContextFile", "FimTemplate", "Prompt", "RepoLayout", "Special",
           "TemplateError", "detect_template", "render"]
