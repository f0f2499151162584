"""Generation strategies: how a stage asks the teacher. A strategy plans the requests for a list of
problems and turns their results into samples; ``run`` may call the engine many times (beam search,
MCTS), each call through ``generate``, which takes the engine's lock for that call only.

    strategy = get_strategy("independent", template="cot_zero_shot", n=4)
    requests = strategy.plan(problems, context)            # one PlannedRequest per problem
    samples = strategy.run(requests, generate, info)        # SampleRecords, ungraded

Two built-ins: ``independent`` (n samples of the plain prompt, the rationale stage) and ``hinted``
(R attempts with the gold answer as a hint, stored with the plain prompt: STaR rationalization).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, ClassVar, Sequence

from generators.base import EngineInfo, SamplingParams
from generators.sampling import Generate, PlannedRequest, plan_requests, sample_requests
from schemas import ProblemRecord, SampleRecord
from schemas.registry import Registry
from schemas.samples import Stage


@dataclass(frozen=True)
class PlanContext:
    """What every strategy plans with: the iteration, the sampling settings, seeds and the model."""

    iteration: int
    sampling: SamplingParams
    base_seed: int
    model: str
    model_revision: str | None


class Strategy:
    """Plans one stage's requests and runs them; subclasses set ``name`` and ``stage``."""

    name: ClassVar[str]
    stage: ClassVar[Stage]

    def __init__(self, template: str, *, n: int = 1, training_template: str | None = None) -> None:
        self.template, self.n, self.training_template = template, n, training_template or template

    def plan(self, problems: Sequence[ProblemRecord], context: PlanContext) -> list[PlannedRequest]:
        return plan_requests(problems, stage=self.stage, iteration=context.iteration, template_id=self.template,
                             training_template_id=self.training_template, sampling=replace(context.sampling, n=self.n),
                             base_seed=context.base_seed, model=context.model, model_revision=context.model_revision)

    def run(self, requests: Sequence[PlannedRequest], generate: Generate,
            info: Callable[[], EngineInfo]) -> list[SampleRecord]:
        """One engine call for all requests (a looping strategy overrides this)."""
        return sample_requests(requests, generate, info)

    def describe(self) -> dict[str, Any]:
        return {"strategy": self.name, "stage": self.stage.value, "template": self.template, "n": self.n,
                "training_template": self.training_template}

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


def available(stage: Stage | None = None) -> list[str]:
    return STRATEGIES.names(lambda cls: stage is None or cls.stage == stage)


def get_strategy(name: str, **options: Any) -> Strategy:
    """A new strategy ``name`` built with ``options``; an unknown name or option raises ValueError."""
    return STRATEGIES.make(name, options)
