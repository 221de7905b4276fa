"""Trained understanding of a message: intent, dialogue act and 一件事 item, with probabilities.

Each is a logistic regression over one shared union of three views of the text (character 1–3-grams,
jieba word 1–2-grams, pinyin syllable 1–2-grams), fitted once on all the training texts. Training is deterministic and takes
seconds; the artefact is one joblib file keyed by the corpus fingerprint and the library versions, so a
changed corpus or catalog retrains at start-up instead of loading a stale model.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion

from assistant.nlu import features
from assistant.nlu.corpus import Corpus, Example, load_corpus

log = logging.getLogger(__name__)
FORMAT_VERSION = 5


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=features.chars, analyzer="char_wb", ngram_range=(1, 3),
                    sublinear_tf=True, min_df=1,
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer=features.words, sublinear_tf=True, min_df=1,
                ),
            ),
            (
                "pinyin",
                TfidfVectorizer(analyzer=features.pinyin, sublinear_tf=True, min_df=1),
            ),
        ]
    )  # fmt: skip


def _sqrt_balanced(labels: list[str]) -> list[float]:
    """Sample weights that halve (in log terms) the gap between common and rare classes: rare classes
    such as refuse are not drowned by consult, yet the prior still favours the common reading."""
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    top = max(counts.values())
    return [(top / counts[lab]) ** 0.5 for lab in labels]


@dataclass(frozen=True)
class Prediction:
    label: str
    p: float
    probs: dict[str, float] = field(default_factory=dict)


class Classifier:
    """One head: a logistic regression over the model's shared features, and its label order."""

    def __init__(self, features: FeatureUnion, clf: LogisticRegression) -> None:
        self.features = features
        self.clf = clf
        self.labels: list[str] = [str(x) for x in clf.classes_]

    @classmethod
    def train(cls, feats: FeatureUnion, rows: tuple[Example, ...], c: float = 8.0) -> Classifier:
        labels = [r.label for r in rows]
        clf = LogisticRegression(C=c, max_iter=3000)
        clf.fit(feats.transform([r.text for r in rows]), labels, sample_weight=_sqrt_balanced(labels))
        return cls(feats, clf)

    def predict(self, text: str) -> Prediction:
        return self.predict_x(self.features.transform([text]))

    def predict_x(self, x: Any) -> Prediction:
        """The prediction for one already-vectorised row (``NLUModel.predict`` vectorises once)."""
        probs = self.clf.predict_proba(x)[0]
        best = int(np.argmax(probs))
        return Prediction(
            self.labels[best], float(probs[best]), dict(zip(self.labels, map(float, probs), strict=False))
        )

    def score(self, rows: tuple[Example, ...]) -> dict[str, Any]:
        if not rows:
            return {"n": 0}
        gold = [r.label for r in rows]
        pred = [str(x) for x in self.clf.predict(self.features.transform([r.text for r in rows]))]
        labels = sorted(set(gold))
        per = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
        return {
            "n": len(rows),
            "accuracy": round(float(accuracy_score(gold, pred)), 3),
            "macro_f1": round(
                float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)), 3
            ),
            "per_label_f1": {lab: round(float(f), 3) for lab, f in zip(labels, per, strict=True)},
        }


@dataclass(frozen=True)
class Predictions:
    intent: Prediction
    act: Prediction
    item: Prediction


@dataclass
class NLUModel:
    """Three heads (intent, dialogue act, item) over one fitted feature union: a message is tokenised
    and vectorised once per turn, not once per head."""

    intent: Classifier
    act: Classifier
    item: Classifier
    fingerprint: str
    train_seconds: float = 0.0

    @classmethod
    def train(cls, corpus: Corpus) -> NLUModel:
        t0 = time.perf_counter()
        texts = list(dict.fromkeys(r.text for rows in (corpus.intent, corpus.act, corpus.item) for r in rows))
        feats = _features().fit(texts)
        model = cls(
            intent=Classifier.train(feats, corpus.intent),
            act=Classifier.train(feats, corpus.act, c=16.0),
            item=Classifier.train(feats, corpus.item, c=16.0),
            fingerprint=key(corpus),
        )
        model.train_seconds = time.perf_counter() - t0
        return model

    def predict(self, text: str) -> Predictions:
        x = self.intent.features.transform([text])
        return Predictions(self.intent.predict_x(x), self.act.predict_x(x), self.item.predict_x(x))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            joblib.dump({"format": FORMAT_VERSION, "model": self}, tmp, compress=3)
            os.replace(tmp, path)  # atomic: a concurrent loader sees the old file or the new one
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @staticmethod
    def load(path: Path, fingerprint: str) -> NLUModel | None:
        """The saved model if it was trained on this corpus with these library versions, else None."""
        try:
            blob = joblib.load(path)
        except FileNotFoundError:
            return None
        except Exception as e:  # a truncated or foreign file is retrained, never trusted
            log.warning("NLU model %s unreadable (%s); retraining", path, e)
            return None
        model = blob.get("model") if isinstance(blob, dict) else None
        if blob.get("format") != FORMAT_VERSION or not isinstance(model, NLUModel):
            return None
        return model if model.fingerprint == fingerprint else None


def key(corpus: Corpus) -> str:
    return f"{corpus.fingerprint()}-sk{sklearn.__version__}-v{FORMAT_VERSION}"


def cache_dir() -> Path:
    """Where trained models are kept by fingerprint, shared by every data dir of this user
    (``GOVCHAT_NLU_CACHE`` overrides; an empty value turns the cache off)."""
    return Path(os.environ.get("GOVCHAT_NLU_CACHE", Path.home() / ".cache" / "govchat" / "nlu"))


def load_or_train(path: Path | None, catalog_terms: dict[str, list[str]]) -> NLUModel:
    """Start-up: load the artefact for this corpus and catalog, or train it (seconds) and save it.

    Training is deterministic, so a model trained for the same corpus, catalog and library versions in
    another data dir (kept in ``cache_dir()`` by fingerprint) is the same model and is reused."""
    corpus = load_corpus(catalog_terms)
    fp = key(corpus)
    cached = cache_dir() / f"{fp}.joblib" if os.environ.get("GOVCHAT_NLU_CACHE", "x") else None
    for candidate in (path, cached):
        if candidate is not None and (model := NLUModel.load(candidate, fp)) is not None:
            if candidate is not path and path is not None:
                _save(model, path)
            return model
    model = NLUModel.train(corpus)
    log.info("trained the NLU model in %.1f s (%d intent, %d act, %d item rows)",
             model.train_seconds, len(corpus.intent), len(corpus.act), len(corpus.item))  # fmt: skip
    for target in (path, cached):
        if target is not None:
            _save(model, target)
    return model


def _save(model: NLUModel, path: Path) -> None:
    try:
        model.save(path)
    except OSError as e:  # a read-only data dir or cache still gets a working model
        log.warning("could not save the NLU model to %s: %s", path, e)
