"""A file's path as a comment in its own language, for families without file tokens.

DeepSeek-Coder's README ("Repository Level Code Completion") names each file in a `# path`
comment before its code; the same header serves every family without file tokens.
https://github.com/deepseek-ai/DeepSeek-Coder#4-repository-level-code-completion
"""

from __future__ import annotations

from lspilot.context.languages import EXTENSIONS

# LSP language id -> how a one-line comment is written ({path} is replaced).
COMMENTS: dict[str, str] = {
    **dict.fromkeys(
        ("python", "shellscript", "ruby", "perl", "r", "yaml", "toml", "makefile",
         "dockerfile", "powershell", "elixir", "julia", "coffeescript", "nim"), "# {path}"),
    **dict.fromkeys(
        ("c", "cpp", "csharp", "java", "javascript", "javascriptreact", "typescript",
         "typescriptreact", "go", "rust", "swift", "kotlin", "scala", "dart", "php",
         "objective-c", "objective-cpp", "groovy", "zig", "jsonc", "proto", "verilog"),
        "// {path}"),
    **dict.fromkeys(("lua", "sql", "haskell", "elm", "ada", "vhdl"), "-- {path}"),
    **dict.fromkeys(("clojure", "lisp", "scheme", "racket"), ";; {path}"),
    **dict.fromkeys(("erlang", "latex", "tex", "matlab", "prolog"), "% {path}"),
    **dict.fromkeys(("html", "xml", "markdown", "vue", "svelte"), "<!-- {path} -->"),
    **dict.fromkeys(("css", "scss", "less"), "/* {path} */"),
    "vb": "' {path}",
    "fortran": "! {path}",
    "ocaml": "(* {path} *)",
}

DEFAULT = "# {path}"
"""For a language in neither table: `#` is the line comment of most script and config files."""

# Extensions beyond the grammar languages' (context/languages.py), by LSP language id.
_MORE_EXTENSIONS: dict[str, str] = {
    ".sh": "shellscript", ".bash": "shellscript", ".zsh": "shellscript", ".rb": "ruby",
    ".pl": "perl", ".r": "r", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".ps1": "powershell", ".ex": "elixir", ".exs": "elixir", ".jl": "julia",
    ".cs": "csharp", ".swift": "swift", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala",
    ".dart": "dart", ".php": "php", ".m": "objective-c", ".mm": "objective-cpp",
    ".groovy": "groovy", ".zig": "zig", ".proto": "proto", ".v": "verilog", ".lua": "lua",
    ".sql": "sql", ".hs": "haskell", ".elm": "elm", ".clj": "clojure", ".lisp": "lisp",
    ".scm": "scheme", ".rkt": "racket", ".erl": "erlang", ".tex": "latex", ".html": "html",
    ".htm": "html", ".xml": "xml", ".md": "markdown", ".vue": "vue", ".svelte": "svelte",
    ".css": "css", ".scss": "scss", ".less": "less", ".vb": "vb", ".f90": "fortran",
    ".ml": "ocaml", ".mli": "ocaml",
}
_BY_EXTENSION = {**EXTENSIONS, **_MORE_EXTENSIONS}


def language_of(path: str) -> str:
    """The LSP language id of a file by its extension ("" when unknown)."""
    name = path.rsplit("/", 1)[-1]
    if name in ("Makefile", "makefile", "GNUmakefile"):
        return "makefile"
    if name == "Dockerfile":
        return "dockerfile"
    dot = name.rfind(".")
    return _BY_EXTENSION.get(name[dot:].lower(), "") if dot > 0 else ""


def path_comment(path: str, language_id: str) -> str:
    """`path` as a one-line comment of the language (`#` when the language is unknown)."""
    return COMMENTS.get(language_id, DEFAULT).replace("{path}", path)
