"""Samples stream shard by shard from the ledger through grading, the selection and a spool on
local disk; what a run holds in memory is per-problem state (pass rates, pseudo-labels, which
problems have a kept sample) and the samples of one shard.

Every problem's samples of one stage and iteration are in one shard (one request per problem), and
a later stage or iteration only gets problems with no kept sample yet, so selecting within a shard
is selecting over the problem's whole history. The one exception is an adaptive budget
(``sampling.until_verified``): its rounds are shards of their own, and each round is selected with the
problem's samples kept in earlier rounds (``rounds=True``), which Tally holds until the stage ends.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from starmill.filters.selection import Selection, majority_labels, pass_at_k
from starmill.schemas import ProblemRecord, SampleRecord, SftRecord, TreeRecord
from starmill.schemas.samples import Stage

SPOOL_ROWS = 4096  # rows buffered per table before a row group is written
TABLES = {"samples": SampleRecord, "sft": SftRecord, "tree": TreeRecord}


class Spool:
    """The run's graded samples and sft rows, appended shard by shard to Parquet parts in a folder of
    its own under ``parent`` and read back in batches when the run publishes."""

    def __init__(self, parent: Path):
        parent = Path(parent)
        if parent.is_dir():  # what killed runs left (two runs of one config may spool at once)
            for old in parent.iterdir():
                pid = old.name.split("-")[0]
                if not (pid.isdigit() and psutil.pid_exists(int(pid))):
                    shutil.rmtree(old, ignore_errors=True)
        self.folder = parent / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.folder.mkdir(parents=True)
        self.pending: dict[str, list] = {name: [] for name in TABLES}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.parts: dict[str, list[Path]] = {name: [] for name in TABLES}
        self.rows: Counter = Counter()

    def add(self, table: str, records: list) -> None:
        self.pending[table] += records
        self.rows[table] += len(records)
        if len(self.pending[table]) >= SPOOL_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        records, self.pending[table] = self.pending[table], []
        if not records:
            return
        if table not in self.writers:
            path = self.folder / f"{table}-{len(self.parts[table]):05d}.parquet"
            self.parts[table].append(path)
            self.writers[table] = pq.ParquetWriter(path, TABLES[table].arrow_schema(), compression="zstd")
        self.writers[table].write_table(TABLES[table].to_table(records))

    def _close(self, table: str) -> None:
        self._flush(table)
        writer = self.writers.pop(table, None)
        if writer is not None:
            writer.close()  # later rows start a new part

    def batches(self, table: str) -> Iterator[pa.RecordBatch]:
        self._close(table)
        for path in self.parts[table]:
            yield from pq.ParquetFile(path).iter_batches(batch_size=SPOOL_ROWS)

    def write_parquet(self, table: str, path: Path) -> Path:
        """Everything spooled of ``table`` so far as one Parquet file (``{sft}`` of an iteration command)."""
        with pq.ParquetWriter(path, TABLES[table].arrow_schema(), compression="zstd") as writer:
            for batch in self.batches(table):
                writer.write_batch(batch)
        return path

    def remove(self) -> None:
        for table in TABLES:
            self._close(table)
        shutil.rmtree(self.folder, ignore_errors=True)


class Tally:
    """Grades and selects one shard's samples at a time, spools them, and keeps the per-problem state
    and the counts the report needs."""

    def __init__(
        self,
        problems: dict[str, ProblemRecord],
        selection: Selection,
        spool: Spool,
        *,
        n: int,
        workers: int,
        timeout: float,
        self_consistency: float | None,
        scorers: Sequence = (),
        verifiers: Sequence | None = None,
        by_source: dict | None = None,
    ):
        self.problems, self.selection, self.spool, self.scorers = problems, selection, spool, list(scorers)
        self.grade_with = list(verifiers) if verifiers else None  # None: the plain checker
        self.by_source = by_source  # many sources: source name -> its verifiers (None: the plain checker)
        self.source_counts: dict[str, Counter] = {}  # many sources: name -> generated, correct, kept
        self.disagreements: Counter = Counter()  # "primary vs other" -> samples where they differ
        self.workers, self.timeout, self.self_consistency = workers, timeout, self_consistency
        self.ks = [k for k in sorted({1, min(2, n), n}) if k <= n]
        self.counts: Counter = Counter()
        self.drops: Counter = Counter()
        self.filter_stats: Counter = Counter()
        self.seen: Counter = Counter()  # problem -> iteration-0 rationales (every round)
        self.right: Counter = Counter()  # and of those, correct ones
        self.rates: dict[str, float] = {}  # problem -> share of correct iteration-0 rationales
        self.spent_tokens: Counter = Counter()  # problem -> teacher completion tokens on those rationales
        self.mean_tokens: dict[str, float] = {}  # problem -> their mean (with the rate, its difficulty)
        self.spent: Counter = Counter()  # problem -> rationales generated, every iteration and round
        self.kept_rows: dict[str, list[SampleRecord]] = {}  # problem -> kept samples of the rounds so far
        self.kept_count: Counter = Counter()  # problem -> kept samples
        self.labels: dict[str, str] = {}  # problem without gold -> majority answer (self-consistency)
        self.kept: set[str] = set()  # problems with a kept sample
        self.banded: set[str] = set()  # problems outside selection.difficulty's band
        self.verifiers: dict[str, str] = {}  # name -> version of every verdict seen
        self.tokens: Counter = Counter()  # prompt, completion, counted (samples without usage: from text)
        self.feedback: dict[str, str] = {}  # code problem -> test feedback of its first failed attempt (a hint)

    def take(self, samples: list[SampleRecord], rounds: bool = False) -> set[str]:
        """Grade, score, select and spool one shard's samples; the problems that now have a kept sample.
        With ``rounds`` the shard is one round of an adaptive budget: what earlier rounds kept of a
        problem counts toward k and for duplicates."""
        from starmill.filters.grading import grade
        from starmill.filters.scorers import score_samples
        from starmill.warehouse.publish import sft_rows

        labels = self._pseudo_labels(samples)
        graded = grade(
            samples,
            self.problems,
            workers=self.workers,
            timeout=self.timeout,
            labels=labels,
            verifiers=self.by_source or self.grade_with,
        )
        scored = score_samples(graded, self.problems, self.scorers)
        self._rates(scored)  # before selection: selection.difficulty reads them
        final = self.selection.apply(
            scored, self.problems, self.filter_stats, before=self.kept_rows if rounds else None, rates=self.rates
        )
        if rounds:
            for s in final:
                if s.kept:
                    self.kept_rows.setdefault(s.problem_id, []).append(s)
        self._count(final)
        self._feedback(final)
        self.spool.add("samples", final)
        rows = sft_rows(final, self.problems, self.rates, self.labels, self.mean_tokens)
        self.spool.add("sft", rows)
        solved = {r.problem_id for r in rows}
        self.kept |= solved
        self.counts["pseudo_labeled"] += sum(r.pseudo_label for r in rows)
        return solved

    def _feedback(self, samples: list[SampleRecord]) -> None:
        from starmill.filters.code.hints import feedback_of

        for s in samples:
            if s.problem_id not in self.feedback and s.verdicts and s.verdicts[0].get("checker") == "code":
                text = feedback_of(s.verdicts[0])
                if text:
                    self.feedback[s.problem_id] = text

    def _pseudo_labels(self, samples: list[SampleRecord]) -> dict[str, str]:
        if self.self_consistency is None:
            return {}
        from starmill.filters.grading import extracted_answers

        unlabeled = [s for s in samples if not self.problems[s.problem_id].gold_answer and s.stage == Stage.RATIONALE]
        if unlabeled:
            votes = majority_labels(extracted_answers(unlabeled), self.self_consistency)
            self.labels.update({p: answer for p, (answer, _) in votes.items()})
        return {s.problem_id: self.labels[s.problem_id] for s in samples if s.problem_id in self.labels}

    def outside_band(self, problem_ids: Iterable[str]) -> set[str]:
        """Of ``problem_ids``, those whose pass rate lies outside ``selection.difficulty`` (rationalizing or
        resampling them is wasted: every row they get is dropped as too_easy or too_hard); counted once each."""
        band = self.selection.difficulty
        if band is None:
            return set()
        out = {p for p in problem_ids if band.reason(self.rates.get(p, 0.0))}
        for p in out - self.banded:
            self.counts[f"problems_{band.reason(self.rates.get(p, 0.0))}"] += 1
        self.banded |= out
        return out

    def end_rounds(self) -> None:
        """An adaptive stage is over: its kept samples need not be held any longer."""
        self.kept_rows.clear()

    def _rates(self, graded: list[SampleRecord]) -> None:
        for s in graded:
            if s.stage == Stage.RATIONALE and s.iteration == 0:
                self.seen[s.problem_id] += 1
                self.right[s.problem_id] += s.correct
                self.rates[s.problem_id] = self.right[s.problem_id] / self.seen[s.problem_id]
                self.spent_tokens[s.problem_id] += s.completion_tokens
                self.mean_tokens[s.problem_id] = self.spent_tokens[s.problem_id] / self.seen[s.problem_id]

    def _count(self, final: list[SampleRecord]) -> None:
        for s in final:
            self.counts[f"generated.{s.stage}"] += 1
            self.counts[f"correct.{s.stage}"] += s.correct
            self.counts[f"kept.{s.stage}"] += s.kept
            if s.drop_reason:
                self.drops[s.drop_reason] += 1
            for verdict in s.verdicts:
                self.verifiers[verdict["checker"]] = verdict["checker_version"]
            for other in s.verdicts[1:]:
                if (other["verdict"] == "correct") != s.correct:
                    self.disagreements[f"{s.verdicts[0]['checker']} vs {other['checker']}"] += 1
            self.kept_count[s.problem_id] += s.kept
            if self.by_source:
                per = self.source_counts.setdefault(self.problems[s.problem_id].source, Counter())
                per.update(generated=1, correct=int(s.correct), kept=int(s.kept))
            self._tokens(s)
            if s.stage == Stage.RATIONALE:
                self.spent[s.problem_id] += 1

    def per_source(self) -> dict[str, dict[str, int]]:
        """Many sources: each one's samples generated, correct and kept, and its problems solved."""
        if not self.by_source:
            return {}
        solved = Counter(self.problems[p].source for p in self.kept)
        names = sorted(self.by_source)
        return {
            name: {
                "generated": 0,
                "correct": 0,
                "kept": 0,
                **self.source_counts.get(name, {}),
                "problems_solved": solved[name],
            }
            for name in names
        }

    def _tokens(self, s: SampleRecord) -> None:
        """The teacher's tokens of one sample: its usage, or counted from its text when the server gave none."""
        if s.drop_reason in ("refused", "context_overflow", "empty_prompt"):
            return  # never generated: an engine's refusal costs nothing
        if s.prompt_tokens or s.completion_tokens:
            self.tokens["prompt"] += s.prompt_tokens
            self.tokens["completion"] += s.completion_tokens
            return
        from starmill.schemas.cost import text_tokens

        self.tokens["prompt"] += text_tokens("".join(str(m.get("content") or "") for m in s.prompt))
        self.tokens["completion"] += text_tokens(s.completion + (s.reasoning or ""))
        self.tokens["counted"] += 1

    def cost(self, price: dict | None, batch: bool) -> dict:
        """Tokens and cost of every sample, per sample, per kept row and per solved problem."""
        from starmill.schemas.cost import cost_figures

        counts = self.totals()
        return cost_figures(
            self.tokens["prompt"],
            self.tokens["completion"],
            samples=counts["generated"],
            kept_rows=counts["kept"],
            solved=counts["problems_solved"],
            counted_samples=self.tokens["counted"],
            price=price,
            batch=batch,
        )

    def totals(self) -> dict[str, int]:
        """Rows at every stage, as the manifests record them."""
        counts = Counter(self.counts)
        counts["problems"] = len(self.problems)
        for key in ("generated", "correct", "kept"):
            counts[key] = sum(v for k, v in self.counts.items() if k.startswith(f"{key}."))
        counts["problems_solved"] = len(self.kept)
        counts["problems_unsolved"] = len(self.problems) - len(self.kept)
        return dict(counts)

    def pass_at_k(self) -> dict[str, float]:
        sums = {k: sum(pass_at_k(n, self.right[p], k) for p, n in self.seen.items()) for k in self.ks}
        return {str(k): round(sums[k] / max(len(self.seen), 1), 4) for k in self.ks}

    def samples_spent(self) -> dict:
        """Rationales generated per problem: total, mean, min, max and problems per count."""
        counts = [self.spent[p] for p in self.problems if self.spent[p]]
        if not counts:
            return {}
        histogram = Counter(counts)
        return {
            "total": sum(counts),
            "mean": round(sum(counts) / len(counts), 4),
            "min": min(counts),
            "max": max(counts),
            "problems_by_samples": {str(k): histogram[k] for k in sorted(histogram)},
        }
