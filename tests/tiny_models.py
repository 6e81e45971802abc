"""Tiny transformers models built on the spot, saved to a folder, and loaded back through the Auto classes
exactly as a real model id or folder would be. Random weights: they exercise the loading and inference path,
not accuracy. Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

CAPTION_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "a", "figure", "of", "the", "palm",
                 "leaf", "manuscript", "page"]


def tiny_captioner(folder: Path, always: str = "manuscript") -> Path:
    """A BLIP captioner (about 0.1 MB) whose language head is biased so that it always writes `always`."""
    import torch
    from transformers import BertTokenizerFast, BlipConfig, BlipForConditionalGeneration, BlipProcessor
    from transformers.models.blip import BlipImageProcessor

    torch.manual_seed(0)
    vocab = {word: i for i, word in enumerate(CAPTION_WORDS)}
    # strip_accents=False: the BERT default deletes Indic vowel signs
    tokenizer = BertTokenizerFast(vocab=vocab, strip_accents=False, do_lower_case=True, bos_token="[DEC]")
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = BlipConfig(vision_config={**small, "image_size": 32, "patch_size": 16},
                        text_config={**small, "vocab_size": len(vocab), "max_position_embeddings": 64,
                                     "bos_token_id": vocab["[DEC]"], "pad_token_id": 0, "sep_token_id": 3})
    model = BlipForConditionalGeneration(config)
    with torch.no_grad():
        model.text_decoder.cls.predictions.bias[vocab[always]] = 100.0
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}),
                              tokenizer=tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_detector(folder: Path, labels: tuple[str, ...] = ("Text", "Picture", "Caption", "Table")) -> Path:
    """A DETR object detector (about 60 KB) with a ResNet backbone (no timm) and the given labels."""
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    torch.manual_seed(0)
    backbone = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                            out_features=["stage2"])
    config = DetrConfig(backbone_config=backbone, use_timm_backbone=False, use_pretrained_backbone=False,
                        d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=16, decoder_ffn_dim=16, num_queries=10,
                        id2label=dict(enumerate(labels)), label2id={v: k for k, v in enumerate(labels)})
    DetrForObjectDetection(config).save_pretrained(folder)
    DetrImageProcessor(size={"shortest_edge": 256, "longest_edge": 384}).save_pretrained(folder)
    return folder
