"""Answer quality on the evaluation set: `python -m knowledge.evaluate [--sweep] [--verbose]`.

Each item of tests/kb_eval/*.yaml is either answerable (`expect: answer`, with the `facts` every
right answer contains and the `passages` that state them) or not (`expect: refuse`: out of scope,
or a near miss whose topic is in the documents but whose fact is not).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge import answer, knowledge_base
from knowledge.answer import CONFIDENCE_THRESHOLD
from knowledge.normalize import normalize
from knowledge.search import KnowledgeBase

EVAL_DIR = Path(__file__).resolve().parents[1] / "tests" / "kb_eval"


@dataclass(frozen=True)
class Outcome:
    item: dict[str, Any]
    found: bool
    right: bool  # answerable: found with every fact; refuse: not found
    cited_right: bool  # answerable and found: one of the expected passages is cited
    text: str


@dataclass(frozen=True)
class Report:
    outcomes: list[Outcome]

    def _of(self, expect: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.item["expect"] == expect]

    @property
    def answerable(self) -> int:
        return len(self._of("answer"))

    @property
    def unanswerable(self) -> int:
        return len(self._of("refuse"))

    @property
    def accuracy(self) -> float:
        """Answerable questions answered with every expected fact."""
        items = self._of("answer")
        return sum(o.right for o in items) / len(items) if items else 0.0

    @property
    def citation_accuracy(self) -> float:
        items = [o for o in self._of("answer") if o.found]
        return sum(o.cited_right for o in items) / len(items) if items else 0.0

    @property
    def refusal(self) -> float:
        """Out-of-scope and near-miss questions the bot declined to answer."""
        items = self._of("refuse")
        return sum(o.right for o in items) / len(items) if items else 0.0

    @property
    def wrong_fact_rate(self) -> float:
        """Answers given that state the wrong thing: an answer to a question that has none in the
        documents, or an answer lacking an expected fact; over all answers given."""
        given = [o for o in self.outcomes if o.found]
        wrong = [o for o in given if not o.right]
        return len(wrong) / len(given) if given else 0.0

    def summary(self) -> str:
        return (
            f"answerable: {self.answerable}, accuracy {self.accuracy:.1%} "
            f"(right citation {self.citation_accuracy:.1%} of answers); "
            f"out-of-scope/near-miss: {self.unanswerable}, refused {self.refusal:.1%}; "
            f"wrong-fact rate {self.wrong_fact_rate:.1%} of answers given"
        )


def load_items(eval_dir: Path = EVAL_DIR) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for path in sorted(eval_dir.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            items.append({**item, "file": path.name})
    return items


def _flat(text: str) -> str:
    return normalize(text).replace(" ", "")


def judge(kb: KnowledgeBase, item: dict[str, Any], threshold: float, ranker: str = "combined") -> Outcome:
    result = answer(kb, str(item["q"]), threshold, ranker)
    if item["expect"] == "refuse":
        return Outcome(item, result.found, not result.found, False, result.text)
    facts_present = all(_flat(str(f)) in _flat(result.text) for f in item.get("facts", []))
    cited = {c.passage_id for c in result.citations}
    return Outcome(item, result.found, result.found and facts_present,
                   bool(cited & set(item.get("passages", []))), result.text)


def evaluate(threshold: float = CONFIDENCE_THRESHOLD, eval_dir: Path = EVAL_DIR, ranker: str = "combined") -> Report:
    kb = knowledge_base()
    return Report([judge(kb, item, threshold, ranker) for item in load_items(eval_dir)])


def compare() -> None:
    """Each ranking signal alone and combined, at its own best threshold with refusal ≥ 90 %."""
    for ranker in ("rapidfuzz", "words", "chars", "combined"):
        best = None
        for step in range(40, 91, 2):
            report = evaluate(step / 100, ranker=ranker)
            if report.refusal >= 0.9 and (best is None or report.accuracy > best[1].accuracy):
                best = (step / 100, report)
        if best is None:
            print(f"{ranker:10}: never refuses 90 % of out-of-scope questions")
        else:
            print(f"{ranker:10}: threshold {best[0]:.2f}: {best[1].summary()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=CONFIDENCE_THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="try thresholds from 0.40 to 0.90")
    parser.add_argument("--verbose", action="store_true", help="list every question answered wrongly")
    parser.add_argument("--compare", action="store_true", help="each ranking signal alone versus combined")
    args = parser.parse_args(argv)
    if args.compare:
        compare()
        return 0
    if args.sweep:
        for step in range(40, 91, 2):
            print(f"threshold {step / 100:.2f}: {evaluate(step / 100).summary()}")
        return 0
    report = evaluate(args.threshold)
    if args.verbose:
        for o in report.outcomes:
            if not o.right:
                print(f"✗ [{o.item['file']} {o.item.get('style', '')}] {o.item['q']} → "
                      f"{'answered' if o.found else 'refused'}; expected {o.item['expect']} "
                      f"{o.item.get('facts', '')}", file=sys.stderr)
    print(f"threshold {args.threshold:.2f}: {report.summary()}")
    print("reproduce: python -m knowledge.evaluate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
