"""``starmill generate``: sample ad hoc from a teacher and print completions as JSONL."""

from __future__ import annotations

import json

import click

MAX_N = 1024  # completions per prompt, as sampling.n allows in a run config
MAX_TOKENS = 1_000_000  # per completion


@click.command("generate")
@click.option(
    "--backend", type=click.Choice(["transformers", "vllm", "openai"]), default="transformers", show_default=True
)
@click.option(
    "--model",
    default="starmill/demo-teacher",
    show_default=True,
    help="Local path or Hub id (transformers, vllm), or the served model name (openai).",
)
@click.option("--base-url", help="openai backend: the server's /v1 URL (key from OPENAI_API_KEY).")
@click.option("--prompt", "prompt", help="One question.")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False),
    help="Problems: a JSONL file with a 'question' field per line.",
)
@click.option("--template", default="cot_zero_shot", show_default=True, help="Prompt template id or YAML path.")
@click.option("-n", "n", type=int, default=4, show_default=True, help="Completions per prompt (1 to 1024).")
@click.option("--temperature", type=float, default=0.7, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=int, default=128, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Backend option, e.g. --option enforce_eager=true (values parsed as YAML).",
)
def command(backend, model, base_url, prompt, file, template, n, temperature, top_p, max_tokens, seed, options):
    """Sample completions for --prompt or --file and print one JSON object per prompt."""
    import yaml

    from starmill.generators.base import GenerationRequest, SamplingParams
    from starmill.generators.prompts import get_template
    from starmill.generators.registry import backend_for
    from starmill.schemas.errors import StarmillError

    if (prompt is None) == (file is None):
        raise StarmillError("give exactly one of --prompt TEXT or --file PROBLEMS.jsonl")
    if not 1 <= n <= MAX_N:  # before any work: the engine would try to hold them all at once
        raise StarmillError(f"-n must be from 1 to {MAX_N}, got {n}")
    if not 1 <= max_tokens <= MAX_TOKENS:
        raise StarmillError(f"--max-tokens must be from 1 to {MAX_TOKENS:,}, got {max_tokens}")
    questions = [prompt] if prompt is not None else _questions(file)
    opts = {}
    for item in options:
        if "=" not in item:
            raise StarmillError(f"--option {item!r}: use KEY=VALUE")
        key, value = item.split("=", 1)
        opts[key] = yaml.safe_load(value)
    teacher = {"backend": backend, "model": model, "base_url": base_url, "options": opts}
    tmpl = get_template(template)
    requests = [
        GenerationRequest(
            request_id=str(i),
            messages=tmpl.render(q),
            sampling=SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed + i),
        )
        for i, q in enumerate(questions)
    ]
    engine = backend_for(teacher)
    for question, result in zip(questions, engine.generate(requests)):
        info = result.engine
        click.echo(
            json.dumps(
                {
                    "question": question,
                    "model": info.model,
                    "revision": info.model_revision,
                    "engine": info.engine,
                    "completions": [c.as_json() for c in result.completions],
                },
                ensure_ascii=False,
            )
        )


def _questions(path: str) -> list[str]:
    from starmill.schemas.errors import StarmillError

    questions = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                questions.append(row["question"] if isinstance(row, dict) else None)
            except (json.JSONDecodeError, KeyError):
                questions.append(None)
            if not isinstance(questions[-1], str):
                raise StarmillError(f"{path}:{number}: expected a JSON object with a 'question' string")
    return questions
