"""Document embeddings from a static Model2Vec model.

A Model2Vec model (Tulkens & van Dongen, MinishLab, 2024) distils a sentence transformer into one
vector per token; a text's embedding is the mean of its tokens' vectors, so embedding needs
numpy and a tokenizer, no neural network at run time. neardup embeds a document's *normalised*
text (:mod:`neardup.text.normalize`: NFKC, case folded, tokens joined by single spaces), the text
the exact hash sees, so exact copies get identical vectors, and embeds all of it (no truncation
to the model's 512 tokens); of an e-mail or Usenet message only the writer's own text is
embedded (:func:`embedding_texts`). Vectors are scaled to unit length in float64 and stored as
float32; a document with no known token gets the zero vector and is never a duplicate.

The model is loaded once per process and shared by the worker threads (``encode`` only reads
it).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from neardup.errors import ConfigError, DependencyError

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def _import_model2vec() -> Any:
    try:
        from model2vec import StaticModel
    except ImportError as exc:
        raise DependencyError(
            "method semantic needs the model2vec package",
            remedy="pip install 'neardup[semantic]'",
        ) from exc
    return StaticModel


def _looks_like_path(name: str) -> bool:
    """A name that can only be meant as a folder: absolute, relative with ./ or ~, or with more
    than one slash (hub names are ``owner/model``)."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def load_model(name: str) -> Any:
    """The :class:`model2vec.StaticModel` at a local folder or hub name ``name``, loaded once.

    A folder that does not exist, or one that does not hold a Model2Vec model, is a
    :class:`~neardup.errors.ConfigError` that says what to pass; a hub name is downloaded by
    model2vec (and then read from its cache) only when no such folder exists."""
    with _LOCK:
        model = _MODELS.get(name)
        if model is not None:
            return model
        static_model = _import_model2vec()
        path = Path(name).expanduser()
        if not path.exists() and _looks_like_path(name):
            raise ConfigError(
                f"model folder {name} does not exist",
                remedy="pass --model with the folder of a Model2Vec model (config.json, "
                "model.safetensors, tokenizer.json) or a hub name such as "
                "minishlab/potion-base-8M",
            )
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"model {name} is a file, not a Model2Vec model folder",
                remedy="pass the folder that holds config.json, model.safetensors and "
                "tokenizer.json",
            )
        try:
            if path.exists():
                model = static_model.from_pretrained(str(path))
            else:
                try:  # read the hub cache when it holds the model
                    model = static_model.from_pretrained(name, force_download=False)
                except TypeError:  # model2vec before force_download
                    model = static_model.from_pretrained(name)
        except Exception as exc:  # model2vec and the hub raise many kinds
            where = "folder" if path.exists() else "hub model"
            raise ConfigError(
                f"cannot load Model2Vec {where} {name}: {type(exc).__name__}: {exc}".strip(),
                remedy="pass --model with a Model2Vec model folder (config.json, "
                "model.safetensors, tokenizer.json), or a hub name with network access",
            ) from exc
        _MODELS[name] = model
        return model


def model_info(name: str) -> dict[str, Any]:
    """What stats.json records about a model: its name as given and its dimension."""
    return {"model": name, "dimensions": int(load_model(name).dim)}


def embed(texts: list[str], name: str) -> np.ndarray:
    """``(n, dim)`` float32 unit vectors of ``texts`` (zero rows for texts with no token).

    Each row depends on its own text only (a mean over its tokens), never on the batch."""
    model = load_model(name)
    if not texts:
        return np.zeros((0, int(model.dim)), dtype=np.float32)
    raw = model.encode(
        texts,
        max_length=None,
        normalize=False,
        use_multiprocessing=False,
        batch_size=max(1, len(texts)),
    )
    return unit_rows(np.asarray(raw))


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length in float64, stored as float32; zero rows stay zero."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.sqrt((v * v).sum(axis=1))
    out = np.zeros_like(v)
    ok = norms > 0
    out[ok] = v[ok] / norms[ok, None]
    return out.astype(np.float32)


def embedding_texts(
    texts: list[str], norm: np.ndarray, offsets: np.ndarray, ignore_quotes: bool
) -> list[str]:
    """What is embedded of each text: its normalised form; with ``ignore_quotes``, for an
    e-mail or Usenet message, the normalised *own* text (:func:`neardup.text.quotes.own_text`:
    no header block, quoted lines, attributions or signature), so a reply that quotes its parent
    is not taken for a copy of it. Underscores are dropped: normalisation keeps them as word
    characters, and a rule of ``____`` in a signature is dozens of identical tokens whose vector
    would outweigh the words (short posts with such rules met at cosine 0.95)."""
    out = normalised_texts(norm, offsets)
    if ignore_quotes:
        from neardup.text.normalize import normalize
        from neardup.text.quotes import own_text

        for i, text in enumerate(texts):
            own = own_text(text)
            if own != text:
                out[i] = normalize(own)
    return [t.replace("_", " ") if "_" in t else t for t in out]


def normalised_texts(norm: np.ndarray, offsets: np.ndarray) -> list[str]:
    """The normalised texts of a shingled batch (``norm`` bytes cut at ``offsets``)."""
    buf = norm.tobytes()
    return [
        buf[offsets[d] : offsets[d + 1]].decode("utf-8", "replace") for d in range(offsets.size - 1)
    ]
