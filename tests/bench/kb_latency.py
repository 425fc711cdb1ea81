"""Benchmark (not a test): SOP answer latency per question on the real corpus and on a synthetic
corpus of 10,000 passages. Targets: p95 under 20 ms and 100 ms on one core, index built once.

    python -m tests.bench.kb_latency [--passages 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace

from knowledge import answer
from knowledge.corpus import Document, Passage, load_corpus
from knowledge.evaluate import load_items
from knowledge.search import KnowledgeBase


def synthetic(passages: list[Passage], size: int, seed: int = 7) -> list[Passage]:
    """Real passages, reshuffled into `size` new ones: same vocabulary, same lengths, new documents."""
    rng = random.Random(seed)
    sentences = [s for p in passages for s in p.text.split(" ") if s]
    out = []
    for index in range(size):
        base = rng.choice(passages)
        words = rng.sample(sentences, k=min(len(sentences), max(8, len(base.text.split(" ")))))
        doc = Document(code=f"SYN-{index // 50:04d}", title=f"เอกสารสังเคราะห์ {index // 50}",
                       agency=f"หน่วยงาน {index % 37}", agency_short=f"หน่วยงาน {index % 37}")
        out.append(replace(base, id=f"syn-{index}", document=doc, text=" ".join(words)))
    return out


def measure(kb: KnowledgeBase, questions: list[str], rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            answer(kb, question)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def report(name: str, build_s: float, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (f"{name}: index built in {build_s:.2f} s; {len(timings)} answers, "
            f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [str(item["q"]) for item in load_items()]
    real = load_corpus()

    started = time.perf_counter()
    kb = KnowledgeBase(real)
    build = time.perf_counter() - started
    measure(kb, questions[:5], 1)  # warm caches (tokeniser dictionary)
    print(report(f"real corpus ({len(real)} passages)", build, measure(kb, questions, args.rounds)))

    big = synthetic(real, args.passages)
    started = time.perf_counter()
    kb = KnowledgeBase(big)
    build = time.perf_counter() - started
    print(report(f"synthetic corpus ({len(big)} passages)", build, measure(kb, questions, args.rounds)))
    print(f"reproduce: python -m tests.bench.kb_latency --passages {args.passages} --rounds {args.rounds}")


if __name__ == "__main__":
    main()
