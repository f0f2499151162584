"""Idle-engine benchmark (issue 25): starmill against raw scripts on a server whose answer times are
long-tailed (lognormal, sigma 1: the slowest of a 16-request shard ~6x the median, p99 ~10x).

    .venv/bin/python bench/idle_engine.py                       # 256 problems x 4, 16 in flight, 5 rounds
    .venv/bin/python bench/idle_engine.py --problems 512 --rounds 7 --median 0.05

Generate stage, the same requests (same messages, seeds, n) at the same concurrency:
  raw aiohttp        one session, ``--inflight`` workers each taking the next request (the baseline)
  starmill           ShardJobs (ledger record per shard) mapped in process, shards side by side
                     (``shards_in_flight``) over the backend's one in-flight window
  starmill, 1 shard  the same, one shard at a time: each waits for its slowest request (as before)
Whole job: ``run_star`` (no Prefect; rationalization off; with ``--prefect`` also the Prefect flow)
against a raw script that generates, checks each answer with a regex and writes the kept rows to Parquet.
Each round runs every client once, in rotating order; ratios are per round (raw seconds / ours),
printed as median (min-max). Target for the generate stage: >= 0.97.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHARD_SIZE = 16  # the runner's default
ANSWER = re.compile(r"answer is\s*(-?\d+)")


def run_config(args, url: str, root: str | None = None):
    from starmill.config import parse_config

    return parse_config(
        {
            "source": {"procedural": {"n": args.problems, "seed": 101, "difficulty": 1}},
            "teacher": {
                "backend": "openai",
                "model": "m",
                "base_url": url,
                "options": {"max_concurrency": args.inflight, "progress": False},
            },
            "sampling": {"n": args.n, "seed": 7},
            "rationalization": {"enabled": False},
            "runner": {"shard_size": args.shard_size, "retries": 0},
            "audit": {"enabled": args.audit},
        }
    )


def planned(cfg):
    """The rationale stage's requests, as the loop plans them."""
    from starmill.build import sampling_params
    from starmill.generators.procedural import generate_problems
    from starmill.generators.strategies import PlanContext, get_strategy

    problems = generate_problems(cfg.source.procedural.n, seed=101, difficulty=1)
    strategy = get_strategy(cfg.sampling.strategy, template=cfg.prompts.template, n=cfg.sampling.n)
    context = PlanContext(0, sampling_params(cfg.sampling), cfg.sampling.seed, "m", None)
    return problems, strategy, strategy.plan(problems, context)


def payload(request) -> dict:
    s = request.sampling
    return {
        "model": "m",
        "messages": [dict(m) for m in request.messages],
        "n": s.n,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "seed": s.seed,
    }


async def raw_aiohttp(url: str, requests, inflight: int) -> list[dict]:
    """One session; ``inflight`` workers, each taking the next request until none is left."""
    import aiohttp

    bodies: list = [None] * len(requests)
    todo = iter(range(len(requests)))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=inflight)) as session:

        async def worker() -> None:
            for i in todo:
                async with session.post(f"{url}/chat/completions", json=payload(requests[i])) as r:
                    bodies[i] = json.loads(await r.read())

        await asyncio.gather(*(worker() for _ in range(inflight)))
    return bodies


def ours(cfg, strategy, requests, root: str, window: int) -> int:
    from starmill.generators.sampling import plan_shards
    from starmill.warehouse.shards import DONE, RetryPolicy, ShardJob, map_in_process

    teacher = cfg.teacher.model_dump(mode="json")
    jobs = [
        ShardJob(root, f"bench-{uuid.uuid4().hex[:8]}", teacher, shard)
        for shard in plan_shards(requests, cfg.runner.shard_size, strategy)
    ]
    results = list(map_in_process(RetryPolicy(0), window)(jobs))
    assert all(r.status == DONE for r in results), [r.error for r in results if r.status != DONE][:3]
    return sum(r.samples for r in results)


def raw_script(url: str, problems, requests, inflight: int, out: Path) -> int:
    """Generate, check each answer against the gold one, write the kept rows: a user's own script."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    bodies = asyncio.run(raw_aiohttp(url, requests, inflight))
    rows = []
    for problem, request, body in zip(problems, requests, bodies):
        for choice in body["choices"]:
            text = choice["message"]["content"]
            found = ANSWER.search(text)
            if found and found.group(1) == problem.gold_answer:
                rows.append(
                    {"problem_id": problem.problem_id, "prompt": request.messages[-1]["content"], "completion": text}
                )
    pq.write_table(
        pa.Table.from_pylist(
            rows, schema=pa.schema([("problem_id", pa.string()), ("prompt", pa.string()), ("completion", pa.string())])
        ),
        out,
    )
    return len(bodies)


def whole_run(args, url: str, root: str) -> dict:
    from starmill.pipeline import run_star

    return run_star(run_config(args, url), root, progress=False, force=True)


def prefect_run(args, url: str, root: str) -> dict:
    """The same run as a Prefect flow (thread runner, shards as tasks), as ``starmill run`` does."""
    from starmill.flows.star import star_flow

    return star_flow(config=run_config(args, url).model_dump(mode="json"), warehouse=root, force=True)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=256)
    parser.add_argument("-n", type=int, default=4, help="samples per problem (one request each, n in one POST)")
    parser.add_argument("--inflight", type=int, default=16, help="requests in flight (max_concurrency)")
    parser.add_argument("--shard-size", type=int, default=SHARD_SIZE)
    parser.add_argument("--median", type=float, default=0.1, help="median seconds per request")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-whole", dest="whole", action="store_false", help="only the generate stage")
    parser.add_argument("--no-generate", dest="generate", action="store_false", help="only the whole job")
    parser.add_argument(
        "--prefect",
        action="store_true",
        help="whole job also as a Prefect flow (its temporary server starts once, before the rounds)",
    )
    parser.add_argument(
        "--no-audit",
        dest="audit",
        action="store_false",
        help="whole job without the run's audit (math-verify in a child process, ~3 s here)",
    )
    args = parser.parse_args()

    from starmill.warehouse.shards import shards_in_flight
    from tests.long_tail_server import LongTailServer

    with LongTailServer(median=args.median) as server, tempfile.TemporaryDirectory(prefix="idle-engine-") as tmp:
        cfg = run_config(args, server.url)
        problems, strategy, requests = planned(cfg)
        window = shards_in_flight(cfg.teacher.model_dump(mode="json"), args.shard_size, args.n)
        clients = {
            "raw aiohttp": lambda: asyncio.run(raw_aiohttp(server.url, requests, args.inflight)),
            "starmill": lambda: ours(cfg, strategy, requests, tmp, window),
            "starmill, 1 shard at a time": lambda: ours(cfg, strategy, requests, tmp, 1),
        }
        ours(cfg, strategy, requests[: args.shard_size], tmp, window)  # warm-up: the backend and its probe
        if args.generate:
            generate_table(args, server, clients, window)
        if args.whole:
            whole_table(args, server, problems, requests, tmp)


def generate_table(args, server, clients: dict, window: int) -> None:
    from tests.long_tail_server import busy

    times = {name: [] for name in clients}
    use = {name: [] for name in clients}
    names = list(clients)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            server.reset()
            start = time.perf_counter()
            clients[name]()
            times[name].append(time.perf_counter() - start)
            use[name].append(busy(server.stats()["timeline"], args.inflight)["utilisation"])
    print(
        f"\nGenerate stage: {args.problems} problems x {args.n} samples, {args.inflight} in flight, shards of "
        f"{args.shard_size} ({window} at once), lognormal median {args.median}s, {args.rounds} rounds"
    )
    print(f"  {'client':<30} {'seconds (median)':>16}  {'raw / ours per round':>24}  server busy")
    for name in names:
        ratios = [raw / t for raw, t in zip(times["raw aiohttp"], times[name])]
        print(
            f"  {name:<30} {statistics.median(times[name]):16.2f}  {spread(ratios):>24}  "
            f"{statistics.median(use[name]):.2f}"
        )


def whole_table(args, server, problems, requests, tmp: str) -> None:
    runs = {
        "raw script": lambda r: raw_script(
            server.url, problems, requests, args.inflight, Path(tmp) / f"raw-{r}.parquet"
        ),
        "starmill run_star": lambda r: whole_run(args, server.url, str(Path(tmp) / f"wh-{r}")),
    }
    if args.prefect:
        from starmill.flows import prefect_env

        prefect_env.apply()
        prefect_run(args, server.url, str(Path(tmp) / "prefect-warm-up"))  # the temporary server starts here
        runs["starmill star_flow (Prefect)"] = lambda r: prefect_run(args, server.url, str(Path(tmp) / f"pf-{r}"))
    whole = {name: [] for name in runs}
    names = list(runs)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            runs[name](r)
            whole[name].append(time.perf_counter() - start)
    print(f"\nWhole job (rationalization off, audit {'on' if args.audit else 'off'}), {args.rounds} rounds")
    print(f"  {'':<30} {'seconds (median)':>16}  {'raw / ours per round':>24}")
    for name, values in whole.items():
        ratios = [raw / t for raw, t in zip(whole["raw script"], values)]
        print(f"  {name:<30} {statistics.median(values):16.2f}  {spread(ratios):>24}")


if __name__ == "__main__":
    main()
