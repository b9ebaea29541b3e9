"""The character n-gram classifier (knowledge/classifier.py) reads a question without
scikit-learn at serving time; these tests hold its reading to scikit-learn's, and show that it
tolerates what movers type."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.classifier import CharClassifier

TEXTS = {
    "housing.rent": ["Jak wynająć mieszkanie w Luleå?", "hyresrätt Lulebo kö", "Kā īrēt dzīvokli Luleo?", "how do I rent a flat",
                     "Kaip išsinuomoti butą Luleå?", "bostadskö Luleå hur lång tid"],
    "admin.taxes": ["Ile wynosi podatek w Szwecji?", "skatt Luleå procent", "Kādi ir nodokļi Zviedrijā?", "how much tax will I pay",
                    "Kokie mokesčiai Švedijoje?", "Skatteverket deklaration"],
    "education.preschool": ["przedszkole w Luleå ile kosztuje", "förskola ansökan", "bērnudārzs Luleo", "preschool fees",
                            "darželis Luleå kaina", "maxtaxa förskola"],
}


@pytest.fixture(scope="module")
def model() -> CharClassifier:
    texts = [t for items in TEXTS.values() for t in items] * 2  # every n-gram at least twice (min_df)
    labels = [label for label, items in TEXTS.items() for _ in items] * 2
    return CharClassifier.fit(texts, labels)


@pytest.mark.parametrize("text", ["Jak wynajac mieszkanie", "  ŻÓŁKIEWSKA   przedszkole!! ", "a", "tax", "", "förskola i Luleå?",
                                  "x" * 3000, "🙂 bērnudārzs 🙂", "ab cd\tef\n gh"])
def test_reading_agrees_with_scikit_learn(model, text):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=CharClassifier.NGRAMS, sublinear_tf=True,
                                 vocabulary={t: i for i, t in enumerate(model.vocabulary)})
    vectorizer.idf_ = model.idf
    expected = vectorizer.transform([CharClassifier._normalise(text)]).toarray().ravel()
    indices, values = model.features(text)
    got = np.zeros(len(model.vocabulary))
    got[indices] = values
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_missing_diacritics_and_typos_still_find_the_topic(model):
    for text, topic in [("jak wynajac mieszkanie lulea", "housing.rent"), ("ka iret dzivokli", "housing.rent"),
                        ("forskola ansokan", "education.preschool"), ("podatek szwecja ile", "admin.taxes")]:
        proba = model.proba(text)
        assert max(proba, key=proba.get) == topic, (text, proba)


def test_a_message_without_known_ngrams_is_undecided(model):
    proba = model.proba("zzzz qqqq")
    assert max(proba.values()) - min(proba.values()) < 0.2


def test_saved_and_loaded_model_reads_the_same(model, tmp_path):
    path = tmp_path / "chars.npz"
    model.save(path)
    loaded = CharClassifier.load(path)
    assert loaded is not None and loaded.proba("przedszkole") == model.proba("przedszkole")
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    assert CharClassifier.load(tmp_path / "broken.npz") is None
