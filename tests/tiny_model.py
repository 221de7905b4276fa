"""Builds a tiny sentence-transformers model offline: WordPiece trained on given text + a random small BERT.

It is saved to a folder and loaded through the normal ``SentenceTransformer(path)`` path, so tests
exercise the real loading code without any model hub.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def build_tiny_sentence_transformer(out_dir: Path, texts: Iterable[str], *, dim: int = 32) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as st_models
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, trainers
    from tokenizers import models as tok_models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out_dir = Path(out_dir)
    hf_dir = out_dir / "hf"
    hf_dir.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(tok_models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(handle_chinese_chars=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(list(texts), trainers.WordPieceTrainer(vocab_size=3000, special_tokens=specials))
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    vocab_file = hf_dir / "vocab.txt"
    vocab_file.write_text("\n".join(t for t, _ in vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(vocab_file)).save_pretrained(str(hf_dir))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=dim * 2,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(hf_dir))
    transformer = st_models.Transformer(str(hf_dir), max_seq_length=256)
    pooling = st_models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model_dir = out_dir / "st"
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(model_dir))
    return model_dir


def build_tiny_cross_encoder(out_dir: Path, texts: Iterable[str], *, dim: int = 32) -> Path:
    """A tiny random cross-encoder folder (BERT sequence classifier, one logit) for the reranker path."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    build_tiny_sentence_transformer(out_dir / "base", texts, dim=dim)  # trains the WordPiece vocab we reuse
    vocab = (out_dir / "base" / "hf" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    model_dir = out_dir / "cross"
    model_dir.mkdir(parents=True, exist_ok=True)
    BertTokenizerFast(vocab_file=str(out_dir / "base" / "hf" / "vocab.txt")).save_pretrained(str(model_dir))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=dim, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=dim * 2, max_position_embeddings=512, num_labels=1,
    )  # fmt: skip
    torch.manual_seed(1)
    BertForSequenceClassification(config).save_pretrained(str(model_dir))
    return model_dir
