"""The run configuration: one YAML file, validated by pydantic; every default is stated here once."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.errors import StarmillError
from warehouse.sources.spec import SourceSpec

DEMO_TEACHER = "starmill/demo-teacher"  # the committed demo model (generators/demo_teacher/)


class ConfigError(StarmillError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeacherConfig(_Strict):
    backend: Literal["transformers", "vllm", "openai"] = "transformers"
    model: str = Field(DEMO_TEACHER, description="local path or Hub id (vllm/transformers), model name (openai)")
    revision: str | None = None
    base_url: str | None = Field(None, description="openai backend: the server's /v1 URL")
    dtype: str = "auto"
    options: dict[str, Any] = Field(default_factory=dict, description="passed to the backend "
                                    "(e.g. tensor_parallel_size, data_parallel_size, gpu_memory_utilization)")


class PromptConfig(_Strict):
    template: str = Field("cot_zero_shot", description="prompt template id for rationales")
    rationalization_template: str = Field("star_rationalization", description="template id with the gold hint")


class SamplingConfig(_Strict):
    n: int = Field(4, ge=1, description="rationales per problem")
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int = -1
    max_tokens: int = Field(128, ge=1)
    seed: int = Field(0, description="base seed; each request's seed derives from it and the request")


class RationalizationConfig(_Strict):
    enabled: bool = True
    attempts: int = Field(2, ge=1, description="R: hinted attempts per unsolved problem")


class FilterConfig(_Strict):
    min_chars: int = Field(1, ge=0, description="shortest completion kept")
    max_chars: int = Field(8000, ge=1, description="longest completion kept")
    near_duplicate_threshold: float = Field(0.9, gt=0, le=1, description="Jaccard of 5-gram shingles")
    mixed_language: bool = Field(True, description="drop completions that mix writing systems")


class SelfConsistencyConfig(_Strict):
    enabled: bool = Field(False, description="label problems without a gold answer by majority vote")
    threshold: float = Field(0.6, gt=0, le=1, description="share of samples the majority answer needs")


class IterationConfig(_Strict):
    count: int = Field(1, ge=1, description="K: STaR iterations")
    models: list[str] = Field(default_factory=list, description="teacher for iterations 2..K, one each")
    command: str | None = Field(None, description="shell command run between iterations to make the next "
                                "model; {sft} is a Parquet file of the rows kept so far, {output} the "
                                "folder to write the model to")


class CheckerConfig(_Strict):
    workers: int = Field(1, ge=1, description="processes for the symbolic path")
    timeout: float = Field(5.0, gt=0, description="hard time limit per symbolic check, seconds")


class RunnerConfig(_Strict):
    kind: Literal["thread", "dask", "ray"] = "thread"
    shard_size: int = Field(16, ge=1, description="problems per generation task")
    max_workers: int = Field(2, ge=1, description="threads (thread runner)")
    retries: int = Field(2, ge=0, description="retries of a failing shard")
    retry_delay_seconds: float = Field(1.0, ge=0, description="first retry delay; doubles each retry")
    concurrency_limit: str | None = Field(None, description="Prefect global concurrency limit that "
                                          "generation tasks occupy (guards GPUs across flows)")
    address: str | None = Field(None, description="dask scheduler or ray address; none: a local cluster")


class DatasetNames(_Strict):
    problems: str = "problems"
    samples: str = "samples"
    sft: str = "sft"


class RunConfig(_Strict):
    source: SourceSpec = Field(default_factory=lambda: SourceSpec(procedural={"n": 64, "seed": 0, "difficulty": 1}))
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    prompts: PromptConfig = Field(default_factory=PromptConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    k: int = Field(2, ge=1, description="most rationales kept per problem")
    rationalization: RationalizationConfig = Field(default_factory=RationalizationConfig)
    filters: FilterConfig = Field(default_factory=FilterConfig)
    self_consistency: SelfConsistencyConfig = Field(default_factory=SelfConsistencyConfig)
    iterations: IterationConfig = Field(default_factory=IterationConfig)
    checker: CheckerConfig = Field(default_factory=CheckerConfig)
    runner: RunnerConfig = Field(default_factory=RunnerConfig)
    warehouse: str | None = Field(None, description="root folder; default --warehouse, STARMILL_WAREHOUSE or ./starmill-data")
    datasets: DatasetNames = Field(default_factory=DatasetNames)


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_config(data: dict[str, Any] | None, origin: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(data or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _where(err["loc"])
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{key}: {message}")
        raise ConfigError(f"{origin}: " + "; ".join(problems)) from None


def load_config(path: str | Path | None) -> RunConfig:
    """The config in ``path`` (YAML), or the embedded default when ``path`` is None."""
    if path is None:
        return RunConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
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
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise ConfigError(f"--set {path}: {key!r} is not a section")
            node = node[key]
        node[keys[-1]] = yaml.safe_load(raw)
    return parse_config(data, "--set")
