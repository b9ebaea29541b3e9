"""Grouped k-fold cross-validation over the knowledge base's own examples.

Every topic example question and every out-of-scope example is held out once: the classifier,
the nearest-neighbour rows and the BM25 indexes of its fold are built without it *and without its
near-duplicates and translations* (see `groups`), so a held-out question is as new to the model as a
mover's question is. The per-question rankings are what `knowledge.calibrate` fits the decision
weights and thresholds on, and what `knowledge.eval` reports as the cross-validated figures.
The dev set (shared/eval/) is never used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from knowledge.retrieval import Doc, Ranking, features

FOLDS = 5
SAME_LANGUAGE_COSINE = 0.95  # near-duplicates in one language stay in one fold ...
TRANSLATION_COSINE = 0.85  # ... and so do translations of one question (see groups)
HELD_OUT_KINDS = ("question", "oos")


@dataclass(frozen=True)
class HeldOut:
    doc: Doc
    expected: str | None  # the topic id; None for an out-of-scope example
    style: str
    ranking: Ranking


def style_of(text: str) -> str:
    """A rough style label for reporting: short, narrative, no-diacritics or plain."""
    words = text.split()
    if len(words) <= 3:
        return "short"
    if len(words) >= 20:
        return "narrative"
    if text.isascii():
        return "ascii"
    return "plain"


def groups(docs: list[Doc], vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A group id per row. Within one owner (topic, act or out-of-scope category), two examples
    share a group when they are near-duplicates in one language (cosine >= SAME_LANGUAGE_COSINE)
    or translations of each other: mutual nearest neighbours across two languages with cosine >=
    TRANSLATION_COSINE. (A plain similarity threshold would chain whole topics into one group: e5
    puts unrelated questions of one topic about as close as translations.)"""
    parent = {int(r): int(r) for r in rows}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_owner: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        by_owner.setdefault((docs[r].owner, docs[r].lang), []).append(int(r))
    owners = sorted({owner for owner, _ in by_owner})
    langs = sorted({lang for _, lang in by_owner})
    for owner in owners:
        for i, la in enumerate(langs):
            a = np.array(by_owner.get((owner, la), []))
            if not len(a):
                continue
            same = vectors[a] @ vectors[a].T
            for x, y in zip(*np.nonzero(np.triu(same >= SAME_LANGUAGE_COSINE, k=1)), strict=True):
                union(int(a[x]), int(a[y]))
            for lb in langs[i + 1:]:
                b = np.array(by_owner.get((owner, lb), []))
                if not len(b):
                    continue
                sims = vectors[a] @ vectors[b].T
                best_b, best_a = sims.argmax(axis=1), sims.argmax(axis=0)
                for x, y in enumerate(best_b):
                    if best_a[y] == x and sims[x, y] >= TRANSLATION_COSINE:
                        union(int(a[x]), int(b[y]))
    return np.array([find(int(r)) for r in rows])


def fold_of(group_ids: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    """Deterministic balanced assignment of groups to folds (largest groups first)."""
    unique, counts = np.unique(group_ids, return_counts=True)
    order = np.lexsort((unique, -counts))
    load = np.zeros(folds, dtype=int)
    assignment = {}
    for i in order:
        f = int(np.argmin(load))
        assignment[int(unique[i])] = f
        load[f] += counts[i]
    return np.array([assignment[int(g)] for g in group_ids])


def held_out_rankings(kb, docs: list[Doc], vectors: np.ndarray, c: float, folds: int = FOLDS, progress: bool = True) -> list[HeldOut]:
    """Rank every held-out example with a model of the other folds."""
    from knowledge.classifier import ACT_PREFIX

    trainable = np.array([i for i, d in enumerate(docs) if d.kind in HELD_OUT_KINDS or d.owner.startswith(ACT_PREFIX)])
    fold = np.full(len(docs), -1)
    fold[trainable] = fold_of(groups(docs, vectors, trainable), folds)
    out: list[HeldOut] = []
    for f in tqdm(range(folds), desc=f"cross-validation (C={c:g})", unit="fold", disable=not progress):
        keep = fold != f
        fold_features = features(kb, docs, vectors, keep, c)
        for i in np.flatnonzero(~keep):
            doc = docs[i]
            if doc.kind not in HELD_OUT_KINDS:
                continue
            expected = doc.owner if doc.kind == "question" else None
            out.append(HeldOut(doc, expected, style_of(doc.text), fold_features.rank(vectors[i], doc.text, doc.lang)))
    return out
