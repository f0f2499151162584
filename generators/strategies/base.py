"""How a stage asks the teacher: ``Strategy``, ``PlanContext``, the registry. A strategy plans the requests for a list of
problems and turns their results into samples; ``run`` may call the engine many times (beam search,
MCTS), each call through ``generate``, which takes the engine's lock for that call only.

    strategy = get_strategy("independent", template="cot_zero_shot", n=4)
    requests = strategy.plan(problems, context)            # one PlannedRequest per problem
    samples = strategy.run(requests, generate, info)        # SampleRecords, ungraded

Built in: ``independent`` (n samples of the plain prompt, the rationale stage), ``hinted`` (R attempts
with the gold answer as a hint, stored with the plain prompt: STaR rationalization) and
``until_verified`` (an adaptive budget: ``independent`` in rounds, set by ``sampling.until_verified``).
A strategy with ``rounds`` is run by the loop round by round: each round's requests are shards of
their own in the ledger, graded and selected before the next round is planned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from starmill.generators.base import EngineInfo, SamplingParams
from starmill.generators.sampling import Generate, PlannedRequest, plan_requests, sample_requests
from starmill.schemas import ProblemRecord, SampleRecord, content_hash
from starmill.schemas.registry import Registry
from starmill.schemas.samples import Stage


@dataclass(frozen=True)
class PlanContext:
    """What every strategy plans with: the iteration, the sampling settings, seeds and the model."""

    iteration: int
    sampling: SamplingParams
    base_seed: int
    model: str
    model_revision: str | None
    hints: Mapping[str, str] | None = None  # problem -> what a hinted template shows (None: the gold answer)


class Strategy:
    """Plans one stage's requests and runs them; subclasses set ``name`` and ``stage``."""

    name: ClassVar[str]
    stage: ClassVar[Stage]
    rounds: ClassVar[bool] = False  # planned round by round by the loop (``plan_round``, ``round_sizes``)
    tree: ClassVar[bool] = False  # a search over steps (``search.TreeSearch``): guided by a path scorer, nodes kept

    def __init__(self, template: str, *, n: int = 1, training_template: str | None = None) -> None:
        self.template, self.n, self.training_template = template, n, training_template or template

    def plan(self, problems: Sequence[ProblemRecord], context: PlanContext) -> list[PlannedRequest]:
        return plan_requests(
            problems,
            stage=self.stage,
            iteration=context.iteration,
            template_id=self.template,
            training_template_id=self.training_template,
            sampling=replace(context.sampling, n=self.n),
            base_seed=context.base_seed,
            model=context.model,
            model_revision=context.model_revision,
            hints=context.hints,
        )

    def run(
        self, requests: Sequence[PlannedRequest], generate: Generate, info: Callable[[], EngineInfo]
    ) -> list[SampleRecord]:
        """One engine call for all requests (a looping strategy overrides this)."""
        return sample_requests(requests, generate, info)

    def describe(self) -> dict[str, Any]:
        return {
            "strategy": self.name,
            "stage": self.stage.value,
            "template": self.template,
            "n": self.n,
            "training_template": self.training_template,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


STRATEGIES: Registry[Strategy] = Registry("generation strategy")


@STRATEGIES.register
class IndependentSamples(Strategy):
    """n independent samples of the plain prompt per problem (the rationale stage)."""

    name = "independent"
    stage = Stage.RATIONALE


@STRATEGIES.register
class HintedRationalization(Strategy):
    """STaR rationalization: R attempts with the gold answer as a hint (``template`` has ``{hint}``),
    each stored with the hint-free prompt of ``training_template``."""

    name = "hinted"
    stage = Stage.RATIONALIZATION


@STRATEGIES.register
class UntilVerified(IndependentSamples):
    """An adaptive budget: rounds of up to n samples per problem until ``target`` distinct correct
    rationales are kept or ``max_samples`` are spent, so easy problems stop early. Round 0 asks what
    ``independent`` would; each later round has seeds of its own (its requests, so its shards, differ)."""

    name = "until_verified"
    rounds = True

    def __init__(
        self, template: str, *, n: int = 1, target: int = 1, max_samples: int = 1, training_template: str | None = None
    ) -> None:
        if min(n, target, max_samples) < 1:
            raise ValueError(
                f"until_verified: n ({n}), target ({target}) and max_samples ({max_samples}) must be at least 1"
            )
        super().__init__(template, n=n, training_template=training_template)
        self.target, self.max_samples = target, max_samples

    def round_sizes(self, problem_ids: Sequence[str], spent: dict[str, int], kept: dict[str, int]) -> dict[str, int]:
        """Samples to ask each problem for in the next round: none once it has ``target`` kept or its
        budget is spent, else n or what is left of the budget."""
        return {
            p: min(self.n, self.max_samples - spent.get(p, 0))
            for p in problem_ids
            if kept.get(p, 0) < self.target and spent.get(p, 0) < self.max_samples
        }

    def plan_round(
        self, problems: Sequence[ProblemRecord], context: PlanContext, round_index: int, sizes: dict[str, int]
    ) -> list[PlannedRequest]:
        seed = (
            context.base_seed
            if round_index == 0
            else int(content_hash("round", context.base_seed, round_index)[:12], 16)
        )
        planned: dict[str, PlannedRequest] = {}
        for size in sorted(set(sizes.values())):
            group = [p for p in problems if sizes[p.problem_id] == size]
            for request in plan_requests(
                group,
                stage=self.stage,
                iteration=context.iteration,
                template_id=self.template,
                training_template_id=self.training_template,
                sampling=replace(context.sampling, n=size),
                base_seed=seed,
                model=context.model,
                model_revision=context.model_revision,
            ):
                planned[request.problem_id] = request
        return [planned[p.problem_id] for p in problems]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "target": self.target, "max_samples": self.max_samples}


def available(stage: Stage | None = None) -> list[str]:
    return STRATEGIES.names(lambda cls: stage is None or cls.stage == stage)


def tree_strategies() -> list[str]:
    """The strategies that search a tree of steps (beam, dvts, mcts): the one list of them."""
    return STRATEGIES.names(lambda cls: cls.tree)


def get_strategy(name: str, **options: Any) -> Strategy:
    """A new strategy ``name`` built with ``options``; an unknown name or option raises ValueError."""
    return STRATEGIES.make(name, options)
