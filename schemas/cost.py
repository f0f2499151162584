"""What a run's teacher tokens cost: the report's cost figures and ``starmill run --dry-run``'s estimate.

Prices are per million tokens (``teacher.price``); the Batch API's discount applies when the teacher
generates in batch mode. Tokens are what the server's usage reported; samples whose server reported
none are counted from their text (``CHARS_PER_TOKEN``) and said so (``counted_samples``).
"""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 4  # a hosted model's tokenizer is not at hand: OpenAI's rule of thumb for English


def text_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def usd(prompt_tokens: int, completion_tokens: int, price: dict[str, Any] | None, batch: bool = False) -> float | None:
    """The price of these tokens (None without a price table)."""
    if not price:
        return None
    factor = float(price.get("batch_discount", 0.5)) if batch else 1.0
    return (
        (prompt_tokens * float(price["input_per_million"]) + completion_tokens * float(price["output_per_million"]))
        / 1e6
        * factor
    )


def _per(value: float | None, count: int, digits: int) -> float | None:
    return round(value / count, digits) if value is not None and count else None


def cost_figures(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    samples: int,
    kept_rows: int,
    solved: int,
    counted_samples: int = 0,
    price: dict[str, Any] | None = None,
    batch: bool = False,
) -> dict[str, Any]:
    """Tokens and cost in all and per sample, per kept row and per solved problem (None where there is
    none to divide by, and every cost None without a price)."""
    tokens = prompt_tokens + completion_tokens
    total = usd(prompt_tokens, completion_tokens, price, batch)
    figures: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "tokens": tokens,
        "samples": samples,
        "kept_rows": kept_rows,
        "solved_problems": solved,
        "counted_samples": counted_samples,
    }
    for name, count in (("sample", samples), ("kept_row", kept_rows), ("solved_problem", solved)):
        figures[f"tokens_per_{name}"] = _per(tokens, count, 1)
    figures["usd"] = round(total, 6) if total is not None else None
    for name, count in (("sample", samples), ("kept_row", kept_rows), ("solved_problem", solved)):
        figures[f"usd_per_{name}"] = _per(total, count, 8)
    if price:
        figures["price"] = dict(price)
        figures["batch"] = batch
    return figures


def cost_line(figures: dict[str, Any]) -> str:
    """One line for the CLI and the card: ``1,234,567 tokens ($1.23; $0.0041 per kept row, …)``."""
    if not figures or not figures.get("tokens"):
        return ""
    text = f"{figures['tokens']:,} teacher tokens ({figures['prompt_tokens']:,} prompt, {figures['completion_tokens']:,} completion)"
    per = [
        (figures.get(f"tokens_per_{n}"), label)
        for n, label in (("sample", "sample"), ("kept_row", "kept row"), ("solved_problem", "solved problem"))
    ]
    text += "; " + ", ".join(f"{v:,.0f} per {label}" for v, label in per if v is not None)
    if figures.get("usd") is not None:
        costs = [
            (figures.get(f"usd_per_{n}"), label)
            for n, label in (("sample", "sample"), ("kept_row", "kept row"), ("solved_problem", "solved problem"))
        ]
        text += f"; cost ${figures['usd']:.4f}" + (" (batch)" if figures.get("batch") else "")
        text += "".join(f", ${v:.6f} per {label}" for v, label in costs if v is not None)
    if figures.get("counted_samples"):
        text += f" [{figures['counted_samples']} sample(s) without usage: counted from text]"
    return text
