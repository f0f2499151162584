"""The run configuration: one YAML file, validated by pydantic; every default is stated here once."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from starmill.schemas.contamination import DecontaminationSpec
from starmill.schemas.errors import StarmillError, StarmillWarning
from starmill.schemas.samples import Stage
from starmill.schemas.sources import RunSource, SourceSpec
from starmill.training.settings import TrainSettings

DEMO_TEACHER = "starmill/demo-teacher"  # the committed demo model (generators/demo_teacher/)
MAX_N = 1024  # samples per request (sampling.n, rationalization.attempts) and k
MAX_FILE_BYTES = 1024 * 1024  # a config is a page of YAML; a bigger file is a wrong file
MAX_DEPTH = 32  # nesting of the YAML (teacher.options is the only free-form part)
MAX_VALUES = 100_000  # values after aliases are expanded: YAML "billion laughs" stop here
SEED_MAX = 2**63 - 1


class ConfigError(StarmillError):
    pass


class ConfigDeprecation(StarmillWarning):
    """A config key that still works but has moved (printed once on stderr)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # .inf / .nan are never a setting


class PriceConfig(_Strict):
    """What a hosted teacher costs, in the provider's currency (USD for OpenAI) per million tokens."""

    input_per_million: float = Field(..., ge=0, le=1_000_000, description="prompt tokens")
    output_per_million: float = Field(..., ge=0, le=1_000_000, description="completion tokens (reasoning included)")
    batch_discount: float = Field(0.5, gt=0, le=1, description="price factor in batch mode (the Batch API: half)")


class TeacherConfig(_Strict):
    backend: Literal["transformers", "vllm", "openai", "openai-batch"] = "transformers"
    model: str = Field(DEMO_TEACHER, description="local path or Hub id (vllm/transformers), model name (openai)")
    revision: str | None = None
    base_url: str | None = Field(None, description="openai backend: the server's /v1 URL")
    dtype: str = "auto"
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="passed to the backend "
        "(e.g. tensor_parallel_size, data_parallel_size, gpu_memory_utilization; "
        "openai: rpm, tpm, batch)",
    )
    price: PriceConfig | None = Field(
        None, description="per-million-token prices: the run report's cost figures and run --dry-run's estimate"
    )

    @property
    def batch(self) -> bool:
        """Generation through the Batch API (backend openai-batch, or the openai backend's batch: true)."""
        return self.backend == "openai-batch" or (self.backend == "openai" and self.options.get("batch") is True)


class PromptConfig(_Strict):
    template: str = Field(
        "cot_zero_shot",
        description="prompt template id for rationales, or a relative "
        "path to a .yaml template inside the current folder",
    )
    rationalization_template: str = Field("star_rationalization", description="template id with the gold hint")

    @field_validator("template", "rationalization_template")
    @classmethod
    def _known(cls, name: str, info) -> str:
        from starmill.generators.prompts import get_template

        try:
            template = get_template(name)
        except StarmillError as exc:  # an unknown id, a file outside the folder, not a template
            raise ValueError(str(exc)) from None
        hinted = info.field_name == "rationalization_template"
        if template.takes_hint != hinted:
            raise ValueError(
                f"template {name!r} "
                + ("has no {hint}" if hinted else "shows the {hint}: it cannot be the training prompt")
            )
        return name


class SearchConfig(_Strict):
    """A tree search's settings (``sampling.strategy`` beam, dvts or mcts; unused otherwise); each search
    takes the keys its class names (``starmill.build.search_options``)."""

    beam_width: StrictInt = Field(4, ge=1, le=MAX_N, description="beam: partial paths kept per depth (B)")
    expansions: StrictInt = Field(4, ge=1, le=MAX_N, description="steps sampled per expanded node (M)")
    max_depth: StrictInt = Field(8, ge=1, le=1000, description="most steps per path")
    subtrees: StrictInt = Field(4, ge=1, le=MAX_N, description="dvts: independent subtrees")
    simulations: StrictInt = Field(8, ge=1, le=MAX_N * 16, description="mcts: select-expand-rollout rounds")
    c_uct: float = Field(1.0, ge=0, le=100, description="mcts: exploration weight of UCT")
    widening: float = Field(
        0.0,
        ge=0,
        le=1,
        description="mcts: progressive widening exponent α (a node gets "
        "more children while it has fewer than expansions × visits^α); 0: off",
    )
    scorer: StepSpec = Field(
        default_factory=lambda: StepSpec(name="steps"),
        description="the path scorer that guides the search (steps: the symbolic step checker; a reward model)",
    )
    delimiter: str = Field("\n", min_length=1, max_length=64, description="what ends a step (the stop string)")
    step_tokens: StrictInt | None = Field(
        None, ge=1, le=1_000_000, description="most tokens per step; default sampling.max_tokens"
    )
    reward: Literal["score", "score_and_answer"] = Field(
        "score_and_answer",
        description="mcts: the reward "
        "backed up (the score, or the score times the gold "
        "answer's check; eval always uses the score)",
    )

    @field_validator("scorer")
    @classmethod
    def _scorer(cls, spec: StepSpec) -> StepSpec:
        from starmill.filters.scorers import get_scorer

        get_scorer(*spec.pair())
        return spec


class SamplingConfig(_Strict):
    n: StrictInt = Field(4, ge=1, le=MAX_N, description="rationales per problem")
    temperature: float = Field(0.7, ge=0, le=100)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: StrictInt = Field(-1, ge=-1, le=1_000_000)
    max_tokens: StrictInt = Field(128, ge=1, le=1_000_000)
    seed: StrictInt = Field(
        0, ge=-SEED_MAX, le=SEED_MAX, description="base seed; each request's seed derives from it and the request"
    )
    strategy: str = Field("independent", description="generation strategy of the rationale stage")
    logprobs: StrictInt | None = Field(
        None,
        ge=1,
        le=20,
        description="store the teacher's top-k token logprobs (and "
        "its token ids) per completion token in samples and sft, for logit distillation",
    )
    until_verified: StrictInt | None = Field(
        None,
        ge=1,
        le=MAX_N,
        description="adaptive budget: sample each problem "
        "in rounds of n until this many distinct correct rationales are kept",
    )
    max_samples: StrictInt | None = Field(
        None,
        ge=1,
        le=MAX_N * 16,
        description="adaptive budget: most rationales per problem over all rounds (needs until_verified)",
    )
    search: SearchConfig = Field(
        default_factory=SearchConfig, description="tree search settings (strategy beam, dvts or mcts)"
    )

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, name: str) -> str:
        return _strategy_of(name, Stage.RATIONALE)

    @model_validator(mode="after")
    def _budget(self) -> SamplingConfig:
        if (self.until_verified is None) != (self.max_samples is None):
            raise ValueError("until_verified and max_samples go together (an adaptive budget needs both)")
        if self.max_samples is not None and self.max_samples < self.n:
            raise ValueError(f"max_samples ({self.max_samples}) is below n ({self.n}), the first round")
        if self.strategy == "until_verified":
            raise ValueError("strategy until_verified is set by until_verified and max_samples")
        if self.until_verified is not None and self.strategy != "independent":
            raise ValueError(f"until_verified samples in rounds of the 'independent' strategy, not {self.strategy!r}")
        return self


class RationalizationConfig(_Strict):
    enabled: StrictBool = True
    attempts: StrictInt = Field(2, ge=1, le=MAX_N, description="R: hinted attempts per unsolved problem")
    strategy: str = Field("hinted", description="generation strategy of the rationalization stage")
    code_hint: Literal["reference", "feedback"] = Field(
        "reference",
        description="code problems: the hint is the reference solution, or a failed attempt's test feedback",
    )

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, name: str) -> str:
        return _strategy_of(name, Stage.RATIONALIZATION)


def _strategy_of(name: str, stage: Stage) -> str:
    from starmill.generators.strategies import available

    if name not in available(stage):
        raise ValueError(f"unknown {stage.value} strategy {name!r} (known: {', '.join(available(stage))})")
    return name


class StepSpec(BaseModel):
    """One filter or selector: ``{name: NAME, option: value, …}``, or just ``NAME``."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    name: str

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def pair(self) -> tuple[str, dict[str, Any]]:
        return self.name, self.options


# length: 200,000 characters holds an R1 trace of 32k tokens; the long-trace filters (filters/quality/traces.py) judge
# the thought itself; their defaults come from bench/long_trace_filters.py (overthinking is opt-in)
DEFAULT_FILTERS = [
    "truncated",
    {"name": "length", "min_chars": 1, "max_chars": 200_000},
    "mixed_language",
    "hint_leak",
    "copies_reference",
    "bad_step",
    "think_format",
    "thought_budget",
    "repetition",
    "thought_language",
    "thought_answer",
]
DEFAULT_SCORERS = ["steps"]
SELECTION_STRATEGIES = ("reject", "majority", "best_of_n", "weighted_best_of_n")
DEFAULT_SELECTOR = {"name": "distinct_correct", "near_duplicate_threshold": 0.9}


class DifficultyConfig(_Strict):
    """``selection.difficulty``: the pass-rate band kept (share of correct iteration-0 rationales), both ends kept."""

    min_pass_rate: float = Field(0.0, ge=0, le=1, description="below it a problem is too_hard")
    max_pass_rate: float = Field(1.0, ge=0, le=1, description="above it a problem is too_easy")


class SelectionConfig(_Strict):
    k: StrictInt = Field(2, ge=1, le=MAX_N, description="most rationales kept per problem")
    filters: list[StepSpec] = Field(
        default_factory=lambda: [StepSpec.model_validate(f) for f in DEFAULT_FILTERS],
        max_length=100,
        description="per-sample filters, in order",
    )
    selector: StepSpec = Field(
        default_factory=lambda: StepSpec.model_validate(DEFAULT_SELECTOR),
        description="per-problem selector of strategy reject; gets k",
    )
    strategy: Literal[SELECTION_STRATEGIES] = Field(
        "reject", description="reject (the selector: rejection sampling), majority, best_of_n or weighted_best_of_n"
    )
    scorer: str = Field("steps", description="the scorer best_of_n and weighted_best_of_n rank by (one of scorers:)")
    difficulty: DifficultyConfig | None = Field(
        None,
        description="keep the problems whose pass rate lies in this "
        "band; the others' kept samples are dropped as too_easy or too_hard",
    )
    order: Literal["selected", "easy_to_hard"] = Field(
        "selected",
        description="the sft rows' order: as selected (shard by shard) or easy_to_hard (pass rate descending)",
    )

    @model_validator(mode="after")
    def _known(self) -> SelectionConfig:
        """Every filter and the selector exist and take their options (built once, then dropped)."""
        from starmill.build import selection

        selection(self)
        return self


class FilterConfig(_Strict):
    """The old ``filters:`` section (deprecated: ``selection.filters`` and ``selection.selector``)."""

    min_chars: StrictInt = Field(1, ge=0, le=10_000_000, description="shortest completion kept")
    max_chars: StrictInt = Field(200_000, ge=1, le=10_000_000, description="longest completion kept")
    near_duplicate_threshold: float = Field(0.9, gt=0, le=1, description="Jaccard of 5-gram shingles")
    mixed_language: StrictBool = Field(True, description="drop completions that mix writing systems")

    @model_validator(mode="after")
    def _range(self) -> FilterConfig:
        if self.min_chars > self.max_chars:
            raise ValueError(
                f"min_chars ({self.min_chars}) is above max_chars ({self.max_chars}): every sample would be dropped"
            )
        return self

    def selection(self, k: int) -> dict[str, Any]:
        filters = [
            "truncated",
            {"name": "length", "min_chars": self.min_chars, "max_chars": self.max_chars},
            *(["mixed_language"] if self.mixed_language else []),
            "hint_leak",
        ]
        selector = {"name": "distinct_correct", "near_duplicate_threshold": self.near_duplicate_threshold}
        return {"k": k, "filters": filters, "selector": selector}


class SelfConsistencyConfig(_Strict):
    enabled: StrictBool = Field(False, description="label problems without a gold answer by majority vote")
    threshold: float = Field(0.6, gt=0, le=1, description="share of samples the majority answer needs")


class IterationEvalConfig(_Strict):
    source: str = Field(
        ..., description="held-out problems: a problems version, procedural:n=…,seed=…,difficulty=…, or a file"
    )
    n: StrictInt = Field(8, ge=0, le=MAX_N, description="samples per problem for pass@k and maj@k")
    temperature: float = Field(0.7, ge=0, le=100)
    max_tokens: StrictInt | None = Field(None, ge=1, le=1_000_000, description="default: sampling.max_tokens")
    seed: StrictInt = Field(0, ge=-SEED_MAX, le=SEED_MAX)
    metric: str = Field("greedy_pass@1", description="what early stopping watches")


class IterationConfig(_Strict):
    count: StrictInt = Field(1, ge=1, le=100, description="K: STaR iterations")
    train: TrainSettings | None = Field(
        None,
        description="fine-tune the next model on each iteration's rows "
        "(the STaR outer loop); settings as in `starmill train`",
    )
    train_from: Literal["base", "last"] = Field(
        "base",
        description="base: restart from the configured teacher "
        "each iteration (the paper); last: continue from the last model",
    )
    step_growth: float = Field(1.2, ge=1, le=10, description="train.max_steps grows by this factor each iteration")
    resample: Literal["auto", "all", "unsolved"] = Field(
        "auto", description="problems each iteration samples: all (the paper), unsolved; auto: all when training"
    )
    eval: IterationEvalConfig | None = Field(None, description="held-out evaluation of every model")
    early_stop: StrictBool = Field(True, description="stop when the held-out metric stops rising (needs eval)")
    models: list[str] = Field(default_factory=list, max_length=100, description="teacher for iterations 2..K, one each")
    command: str | None = Field(
        None,
        description="shell command run between iterations to make the next "
        "model; {sft} is a Parquet file of the rows kept so far, {output} the "
        "folder to write the model to",
    )


class CheckerConfig(_Strict):
    workers: StrictInt = Field(1, ge=1, le=256, description="processes for the symbolic path")
    timeout: float = Field(5.0, gt=0, le=3600, description="hard time limit per symbolic check, seconds")


class RunnerConfig(_Strict):
    kind: Literal["thread", "dask", "ray"] = "thread"
    shard_size: StrictInt = Field(16, ge=1, le=100_000, description="problems per generation task")
    max_workers: StrictInt = Field(2, ge=1, le=1024, description="threads (thread runner)")
    retries: StrictInt = Field(2, ge=0, le=100, description="retries of a failing shard")
    retry_delay_seconds: float = Field(1.0, ge=0, le=3600, description="first retry delay; doubles each retry")
    concurrency_limit: str | None = Field(
        None, description="Prefect global concurrency limit that generation tasks occupy (guards GPUs across flows)"
    )
    address: str | None = Field(None, description="dask scheduler or ray address; none: a local cluster")


class DatasetNames(_Strict):
    problems: str = "problems"
    samples: str = "samples"
    sft: str = "sft"
    tree: str = Field("tree", description="a tree search's nodes (sampling.strategy beam, dvts, mcts)")

    @field_validator("problems", "samples", "sft", "tree")
    @classmethod
    def _name(cls, name: str) -> str:
        from starmill.warehouse.versions import check_name

        try:
            return check_name(name)
        except StarmillError as exc:
            raise ValueError(str(exc)) from None


class AuditConfig(_Strict):
    enabled: StrictBool = Field(True, description="publish an audit number with every sft version")
    verifier: str = Field(
        "math-verify",
        description="the second verifier (math-verify is skipped, and the card says so, when it is not installed)",
    )
    sample: StrictInt = Field(200, ge=1, le=1_000_000, description="kept rows graded (all when fewer)")
    seed: StrictInt = Field(0, ge=-SEED_MAX, le=SEED_MAX, description="picks the sample")


class RunConfig(_Strict):
    source: SourceSpec = Field(default_factory=lambda: SourceSpec(procedural={"n": 64, "seed": 0, "difficulty": 1}))
    sources: list[RunSource] | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="many sources in one run, each with its own verifiers and a weight or limit (instead of source)",
    )
    decontamination: DecontaminationSpec | None = Field(
        None,
        description="evaluation sets kept out of the run's "
        "problems at ingest and of its exports; near-duplicates "
        "between sources",
    )
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    prompts: PromptConfig = Field(default_factory=PromptConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    rationalization: RationalizationConfig = Field(default_factory=RationalizationConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    scorers: list[StepSpec] = Field(
        default_factory=lambda: [StepSpec.model_validate(s) for s in DEFAULT_SCORERS],
        max_length=20,
        description="scorers whose scores every sample stores",
    )
    k: StrictInt | None = Field(None, ge=1, le=MAX_N, exclude=True, description="deprecated: selection.k")
    filters: FilterConfig | None = Field(None, exclude=True, description="deprecated: selection.filters")
    self_consistency: SelfConsistencyConfig = Field(default_factory=SelfConsistencyConfig)
    iterations: IterationConfig = Field(default_factory=IterationConfig)
    checker: CheckerConfig = Field(default_factory=CheckerConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    warehouse: str | None = Field(
        None, description="root folder; default --warehouse, STARMILL_WAREHOUSE or ./starmill-data"
    )
    warehouse_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec options of an object-store "
        "warehouse (endpoint_url, key, secret, client_kwargs…); never written to lineage",
    )
    datasets: DatasetNames = Field(default_factory=DatasetNames)
    audit: AuditConfig = Field(
        default_factory=AuditConfig,
        description="a second verifier's agreement with a seeded sample of the kept rows (starmill audit)",
    )

    @model_validator(mode="after")
    def _one_or_many_sources(self) -> RunConfig:
        if self.sources is not None and "source" in self.model_fields_set:
            raise ValueError("give source (one) or sources (a list), not both")
        if self.sources is not None:
            from starmill.warehouse.sources.many import check_names

            try:
                check_names(self.sources)
            except StarmillError as exc:
                raise ValueError(str(exc)) from None
        return self

    def source_specs(self) -> list[SourceSpec]:
        """The run's sources: ``sources``, else the one ``source``."""
        return list(self.sources) if self.sources is not None else [self.source]

    @model_serializer(mode="wrap")
    def _one_source_key(self, handler):
        """Lineage names the sources the run used: ``sources`` or ``source``, never the other's default."""
        data = handler(self)
        if isinstance(data, dict):
            data.pop("source" if self.sources is not None else "sources", None)
        return data

    @model_validator(mode="after")
    def _moved_keys(self) -> RunConfig:
        """The old top-level ``k`` and ``filters:`` still work, each with a deprecation message."""
        if self.k is None and self.filters is None:
            return self
        if "selection" in self.model_fields_set:
            raise ValueError("give selection (k, filters, selector) only: top-level k and filters are its old spelling")
        for key, now in (("k", "selection.k"), ("filters", "selection.filters and selection.selector")):
            if getattr(self, key) is not None:
                warnings.warn(f"config key '{key}' is deprecated: use {now}", ConfigDeprecation, stacklevel=2)
        k = self.k if self.k is not None else self.selection.k
        data = (self.filters or FilterConfig()).selection(k) if self.filters else {"k": k}
        self.selection = SelectionConfig.model_validate(data)
        self.k, self.filters = None, None
        return self

    @field_validator("scorers")
    @classmethod
    def _scorers(cls, specs: list[StepSpec]) -> list[StepSpec]:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"a scorer is listed twice: {', '.join(names)}")
        from starmill.build import build_scorers

        build_scorers(specs)  # each exists and takes its options (a reward model's folder is read)
        return specs

    @model_validator(mode="after")
    def _search(self) -> RunConfig:
        from starmill.build import selection

        sel, sampling = self.selection, self.sampling
        if "best_of_n" in sel.strategy and sel.scorer not in [s.name for s in self.scorers]:
            raise ValueError(
                f"selection.scorer {sel.scorer!r} is not in scorers: "
                f"({', '.join(s.name for s in self.scorers) or 'none'})"
            )
        if sampling.until_verified is not None:
            if sel.strategy != "reject" or not selection(sel).selector.takes_before:
                raise ValueError(
                    "sampling.until_verified selects round by round: it needs selection.strategy "
                    "reject with the distinct_correct selector"
                )
            if sampling.until_verified > sel.k:
                raise ValueError(
                    f"sampling.until_verified ({sampling.until_verified}) is above selection.k "
                    f"({sel.k}): no problem could reach it"
                )
        return self

    @field_validator("warehouse")
    @classmethod
    def _folder(cls, root: str | None) -> str | None:
        from starmill.warehouse.root import not_a_folder

        problem = None if root is None else not_a_folder(root)
        if problem is not None:
            raise ValueError(problem)
        return root


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_config(data: dict[str, Any] | None, origin: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(data or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _where(err["loc"])
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif err["type"] == "value_error":
                message = str(err["ctx"]["error"])
            else:
                message = err["msg"]
            problems.append(f"{key}: {message}")
        raise ConfigError(f"{origin}: " + "; ".join(problems)) from None


class DuplicateKey(yaml.YAMLError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *alias` merges, it is no key
                continue
            key, line = self.construct_object(key_node, deep=deep), key_node.start_mark.line + 1
            try:
                if key in lines:
                    where = f"line {line}" if lines[key] == line else f"lines {lines[key]} and {line}"
                    raise DuplicateKey(f"key {key!r} is given twice in one mapping ({where})")
                lines[key] = line
            except TypeError:  # an unhashable key: the constructor reports it
                continue
        return super().construct_mapping(node, deep=deep)


def _yaml(text: str, origin: str) -> Any:
    """``yaml.safe_load`` (a key given twice refused) with every way it can fail as one ``ConfigError``,
    and a bound on the size of what it built (aliases expanded), so a YAML bomb is refused instead of
    validated."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except DuplicateKey as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ConfigError(f"{origin}: {str(exc).splitlines()[0]}") from None
    _check_size(data, origin)
    return data


def _check_size(data: Any, origin: str) -> None:
    stack, seen = [(data, 0)], 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ConfigError(f"{origin}: more than {MAX_VALUES} values (YAML aliases expanding?)")
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ConfigError(f"{origin}: nested too deeply (at most {MAX_DEPTH} levels)")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def load_config(path: str | Path | None) -> RunConfig:
    """The config in ``path`` (YAML), or the embedded default when ``path`` is None."""
    if path is None:
        return RunConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{path} is not a config file: over {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a config file: not UTF-8 text (binary data?)") from None
    data = _yaml(text, str(path))
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return parse_config(data, str(path))


def apply_overrides(config: RunConfig, overrides: tuple[str, ...] | list[str]) -> RunConfig:
    """``key.path=value`` overrides (values parsed as YAML scalars), validated like the file."""
    if not overrides:
        return config
    data = config.model_dump(mode="json")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: use KEY=VALUE")
        path, raw = item.split("=", 1)
        node = data
        keys = path.strip().split(".")
        if keys == ["k"]:  # its old place
            warnings.warn("config key 'k' is deprecated: use selection.k", ConfigDeprecation, stacklevel=2)
            keys = ["selection", "k"]
        elif keys[0] == "filters":
            raise ConfigError(
                f"--set {path.strip()}: 'filters' moved to selection.filters (e.g. --set "
                "'selection.filters=[truncated, {name: length, max_chars: 4000}]')"
            )
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise ConfigError(f"--set {path}: {key!r} is not a section")
            node = node[key]
        node[keys[-1]] = _yaml(raw, f"--set {path.strip()}")
    return parse_config(data, "--set")
