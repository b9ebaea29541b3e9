"""The embedding model on ONNX Runtime (the default backend) must give the vectors the
sentence-transformers model gives, so the index, the thresholds and the figures stay valid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import settings
from knowledge import onnx_encoder
from knowledge.retrieval import Embedder

TEXTS = [
    "query: Cik maksā īre Luleå?",
    "query: Jak znaleźć pracę jako spawacz w Luleå i ile się zarabia?",
    "query: kaip gauti personnummer",
    "query: Hur ansöker jag om förskola?",
    "query: x",
    "passage: " + "A long passage about winters in Norrbotten, snow, darkness and the northern lights. " * 40,
]


@pytest.fixture(scope="module")
def torch_embedder(embedder) -> Embedder:
    return Embedder(settings.EMBEDDING_MODEL, backend="torch")


def test_the_default_backend_is_onnx(embedder):
    assert embedder.backend == "onnx"


def test_onnx_vectors_equal_the_torch_model_one_by_one_and_in_padded_batches(embedder, torch_embedder):
    expected = torch_embedder.encode(TEXTS)
    alone = np.stack([embedder.encode([text])[0] for text in TEXTS])
    batched = embedder.encode(TEXTS)  # different lengths: padding must not change any vector
    assert alone.shape == batched.shape == (len(TEXTS), 384)
    assert np.abs(alone - expected).max() < 1e-4
    assert np.abs(batched - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_a_question_ranks_the_same_topic_with_both_backends(embedder, torch_embedder):
    question = "Kur Luleå var īrēt dzīvokli?"
    assert np.dot(embedder.query(question), torch_embedder.query(question)) > 0.9999


def test_no_texts_give_an_empty_matrix(embedder):
    assert embedder.encode([]).shape == (0, 384)


def test_an_export_from_other_weights_counts_as_missing(tmp_path):
    model_dir = tmp_path / "model"
    (model_dir / onnx_encoder.ONNX_DIR).mkdir(parents=True)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        (model_dir / name).write_text(name)
    onnx_encoder.onnx_path(model_dir).write_bytes(b"graph")
    stamp = model_dir / onnx_encoder.ONNX_DIR / onnx_encoder.STAMP_FILE
    stamp.write_text(json.dumps({"source": onnx_encoder._source_stamp(model_dir)}))
    assert onnx_encoder.is_exported(model_dir)
    (model_dir / "model.safetensors").write_text("new weights, another size")
    assert not onnx_encoder.is_exported(model_dir)
    stamp.write_text("{not json")
    assert not onnx_encoder.is_exported(model_dir)


def test_an_unknown_backend_is_refused_with_the_variable_named():
    with pytest.raises(ValueError, match="MOVE_EMBEDDING_BACKEND"):
        Embedder(str(Path(settings.EMBEDDING_MODEL)), backend="tensorrt")
