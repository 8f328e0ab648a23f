"""What went into a completion's prompt and why: for `lspilot.explainCompletion` and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lspilot.completion.pipeline import Completion
from lspilot.context.snippet import Snippet


def summary(completion: Completion) -> dict[str, Any]:
    """The prompt, the raw and the shown completion, with token counts and timings."""
    stats = completion.stats
    return {
        "model": completion.model, "template": completion.template,
        "prompt": completion.prompt.text, "completion": completion.text, "raw": completion.raw,
        "multiline": completion.multiline, "promptTokens": stats.prompt_tokens,
        "evaluatedTokens": stats.evaluated_tokens, "generatedTokens": stats.generated_tokens,
        "weighedTokens": stats.weighed_tokens,
        "promptMs": round(stats.prompt_ms, 2), "generateMs": round(stats.generate_ms, 2),
        "totalMs": round(completion.total_ms, 2), "windowStart": completion.window_start,
        "redactions": [{"kind": r.kind, "source": r.source, "path": r.path, "line": r.line + 1}
                       for r in completion.redactions],
    }


def explanation(completion: Completion, count_tokens: Callable[[str], int]) -> dict[str, Any]:
    """The summary plus the context: the snippets that went in and those left out."""
    result = summary(completion) | {"context": None}
    gathered = completion.context
    if gathered is None:
        return result
    chosen = set(gathered.snippets)
    result["context"] = {
        "repo": gathered.repo, "path": gathered.path,
        "snippets": [_snippet(s, True, count_tokens) for s in gathered.snippets],
        "leftOut": [_snippet(s, False, count_tokens) for s in gathered.offered
                    if s not in chosen],
        "sourceMs": gathered.source_ms, "late": list(gathered.late),
        "gatherMs": gathered.total_ms,
    }
    return result


def _snippet(snippet: Snippet, included: bool, count_tokens: Callable[[str], int]
             ) -> dict[str, Any]:
    return {"source": snippet.source, "path": snippet.path,
            "lines": [snippet.start_line + 1, snippet.end_line + 1],
            "score": snippet.score, "reason": snippet.reason,
            "tokens": count_tokens(snippet.text), "included": included}


def describe(explained: dict[str, Any]) -> str:
    """The explanation as text for a terminal: one line per snippet, then the prompt."""
    lines = [f"--- prompt ({explained['promptTokens']} tokens, {explained['template']} "
             f"template) ---", explained["prompt"]]
    redactions = explained.get("redactions") or []
    if redactions:
        lines.append(f"--- secrets kept out of the prompt: {len(redactions)} ---")
        lines += [f"{r['kind']} in {r['path']}:{r['line']} ({r['source']})" for r in redactions]
    lines.append("--- context ---")
    context = explained["context"]
    if context is None:
        lines.append("(none: the file's own text only)")
    else:
        for item in [*context["snippets"], *context["leftOut"]]:
            first, last = item["lines"]
            mark = "in " if item["included"] else "out"
            lines.append(f"{mark} {item['score']:.2f} {item['source']:11} "
                         f"{item['path']}:{first}-{last} ({item['tokens']} tokens) "
                         f"{item['reason']}")
        timing = ", ".join(f"{name} {ms:.1f}" for name, ms in context["sourceMs"].items())
        lines.append(f"gathered in {context['gatherMs']:.1f} ms ({timing} ms)"
                     + (f"; past the deadline: {', '.join(context['late'])}"
                        if context["late"] else ""))
    return "\n".join(lines)
