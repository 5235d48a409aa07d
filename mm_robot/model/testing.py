"""Tiny, randomly initialised transformers checkpoints written to a directory, for tests.

They exercise the real ``from_pretrained`` loading code without a model hub: a word-level
tokenizer over the command vocabulary, a 1-layer BERT and a 1-layer CLIP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from ..core.vocabulary import COLOURS, SHAPE_WORDS, STOP_WORDS

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]


def word_tokenizer(with_bert_template: bool = True):
    """A PreTrainedTokenizerFast over the vocabulary words plus a few command words."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = sorted(set(COLOURS) | set(SHAPE_WORDS) | {w for p in STOP_WORDS for w in p.split()}
                   | {"go", "to", "the", "a", "find", "move", "towards", "please", "drive", "photo", "of"})
    vocab = {tok: i for i, tok in enumerate(SPECIALS + words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if with_bert_template:
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", eos_token="[SEP]",
                                   model_max_length=32)


def save_tiny_bert(directory: Union[str, Path], hidden: int = 32, seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    out = Path(directory)
    tokenizer = word_tokenizer()
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=64)
    BertModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def save_tiny_clip(directory: Union[str, Path], image_size: int = 32, patch_size: int = 8,
                   hidden: int = 32, projection: int = 16, seed: int = 0) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPModel

    out = Path(directory)
    tokenizer = word_tokenizer()
    sep = tokenizer.convert_tokens_to_ids("[SEP]")
    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=32,
                         eos_token_id=sep, pad_token_id=0, bos_token_id=2),
        vision_config=dict(image_size=image_size, patch_size=patch_size, hidden_size=hidden,
                           intermediate_size=2 * hidden, num_hidden_layers=1, num_attention_heads=2),
        projection_dim=projection)
    CLIPModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
