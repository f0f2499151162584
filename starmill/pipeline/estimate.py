"""``starmill run CONFIG --dry-run``: the teacher tokens and cost a run can spend at most, before it
spends any. Reads the source (nothing is written, nothing generated) and renders each problem's
prompts; counts every sample at ``max_tokens`` and every problem as unsolved, so rationalized and
resampled each iteration: an upper bound on what the run can generate.
"""

from __future__ import annotations

from typing import Any

from starmill.config import RunConfig
from starmill.generators.strategies import tree_strategies
from starmill.schemas.cost import CHARS_PER_TOKEN, text_tokens, usd

MESSAGE_TOKENS = 4  # a chat message's own tokens (role, separators), as OpenAI counts them


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    return sum(text_tokens(str(m.get("content") or "")) + MESSAGE_TOKENS for m in messages) + 1


def estimate(cfg: RunConfig) -> dict[str, Any]:
    """The most tokens (and, with ``teacher.price``, dollars) the run's generation can spend."""
    from starmill.filters.code.hints import longest_hint
    from starmill.generators.prompts import get_template
    from starmill.schemas import ProblemRecord
    from starmill.warehouse.sources import iter_problems

    plain, hinted = get_template(cfg.prompts.template), get_template(cfg.prompts.rationalization_template)
    per_problem = cfg.sampling.max_samples or cfg.sampling.n  # an adaptive budget's most rounds
    attempts = cfg.rationalization.attempts if cfg.rationalization.enabled else 0
    records = (r for source in cfg.source_specs() for r in iter_problems(source)[0])  # weights: at most all
    problems = prompt = completion = 0
    for record in records:
        if not isinstance(record, ProblemRecord):
            continue  # a reject is never asked
        problems += 1
        prompt += per_problem * prompt_tokens(plain.render(record.question))
        hint = longest_hint(record, cfg.rationalization.code_hint) if attempts else None  # code: never the tests
        if hint is not None:
            prompt += attempts * prompt_tokens(hinted.render(record.question, hint=hint))
    iterations = cfg.iterations.count
    samples = problems * (per_problem + attempts) * iterations
    prompt *= iterations
    completion = samples * cfg.sampling.max_tokens
    price = cfg.teacher.price.model_dump() if cfg.teacher.price else None
    total = usd(prompt, completion, price, cfg.teacher.batch)
    return {
        "problems": problems,
        "samples_per_problem": per_problem,
        "rationalization_attempts": attempts,
        "iterations": iterations,
        "samples": samples,
        "max_tokens": cfg.sampling.max_tokens,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": prompt + completion,
        "usd": round(total, 6) if total is not None else None,
        "price": price,
        "batch": cfg.teacher.batch,
        "upper_bound": cfg.sampling.strategy not in tree_strategies(),
    }


def estimate_lines(figures: dict[str, Any]) -> list[str]:
    f = figures
    lines = [
        "Dry run: nothing generated, nothing written.",
        f"At most {f['samples']:,} samples: {f['problems']:,} problems x ({f['samples_per_problem']} rationales"
        + (f" + {f['rationalization_attempts']} rationalizations" if f["rationalization_attempts"] else "")
        + f") x {f['iterations']} iteration(s)",
        ("Upper bound" if f["upper_bound"] else "Estimate")
        + f": {f['tokens']:,} teacher tokens ({f['prompt_tokens']:,} prompt, estimated at "
        f"{CHARS_PER_TOKEN} characters a token; {f['completion_tokens']:,} completion at max_tokens {f['max_tokens']})",
    ]
    if f["usd"] is not None:
        price = f["price"]
        discount = f", batch x{price['batch_discount']:g}" if f["batch"] else ""
        lines.append(
            ("Cost upper bound" if f["upper_bound"] else "Cost estimate")
            + f": ${f['usd']:,.4f} (input ${price['input_per_million']:g}/M, output "
            f"${price['output_per_million']:g}/M{discount})"
        )
    else:
        lines.append("Cost: no teacher.price in the config (input_per_million, output_per_million)")
    if not f["upper_bound"]:
        lines.append("Note: a tree search asks the teacher step by step, beyond n samples: no bound here")
    return lines
