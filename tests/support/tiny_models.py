"""Tiny transformers models built on the spot, saved to a folder, and loaded back through the Auto classes
exactly as a real model id or folder would be. Random weights: they exercise the loading and inference path,
not accuracy. Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

CAPTION_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "a", "figure", "of", "the", "palm",
                 "leaf", "manuscript", "page"]
# Words of the tiny readers: one per script the tests route, so that a reading is in a script or not.
READER_WORDS = ["ஓலைச்சுவடி", "தமிழ்", "पाण्डुलिपि", "ใบลาน", "lontar"]


def tiny_captioner(folder: Path, always: str = "manuscript") -> Path:
    """A BLIP captioner (about 0.1 MB) whose language head is biased so that it always writes `always`: also
    the tests' page VLM (an image-text-to-text model) when `always` is one of READER_WORDS."""
    import torch
    from transformers import BertTokenizerFast, BlipConfig, BlipForConditionalGeneration, BlipProcessor
    from transformers.models.blip import BlipImageProcessor

    torch.manual_seed(0)
    vocab = {word: i for i, word in enumerate(CAPTION_WORDS + READER_WORDS)}
    # strip_accents=False: the BERT default deletes Indic vowel signs
    tokenizer = BertTokenizerFast(vocab=vocab, strip_accents=False, do_lower_case=True, bos_token="[DEC]")
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = BlipConfig(vision_config={**small, "image_size": 32, "patch_size": 16},
                        text_config={**small, "vocab_size": len(vocab), "max_position_embeddings": 64,
                                     "bos_token_id": vocab["[DEC]"], "pad_token_id": 0, "sep_token_id": 3})
    model = BlipForConditionalGeneration(config)
    processor = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}),
                              tokenizer=tokenizer)
    return _saved(model, model.text_decoder.cls.predictions.bias, vocab[always], processor, folder)


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


def tiny_line_reader(folder: Path, always: str = "தமிழ்") -> Path:
    """A line model (about 0.1 MB): a VisionEncoderDecoder (ViT encoder, BERT decoder) with a TrOCR processor,
    biased so that it writes `always` (one of READER_WORDS) at every step: `max_new_tokens` says how often."""
    import torch
    from transformers import (
        BertConfig,
        BertTokenizerFast,
        TrOCRProcessor,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    torch.manual_seed(0)
    vocab = {word: i for i, word in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *READER_WORDS])}
    tokenizer = BertTokenizerFast(vocab=vocab, strip_accents=False, do_lower_case=False)
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        ViTConfig(**small, image_size=32, patch_size=16),
        BertConfig(**small, vocab_size=len(vocab), is_decoder=True, add_cross_attention=True,
                   max_position_embeddings=64))
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = vocab["[CLS]"], 0, vocab["[SEP]"]
    model = VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = vocab["[CLS]"]
    model.generation_config.pad_token_id, model.generation_config.eos_token_id = 0, vocab["[SEP]"]
    processor = TrOCRProcessor(image_processor=ViTImageProcessor(size={"height": 32, "width": 32}),
                               tokenizer=tokenizer)
    return _saved(model, model.decoder.cls.predictions.bias, vocab[always], processor, folder)


def _saved(model, bias, word: int, processor, folder: Path) -> Path:
    """The model, its language head biased so that it always writes `word`, saved with its processor."""
    import torch

    with torch.no_grad():
        bias[word] = 100.0
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_chat_reader(folder: Path, always: str = "தமிழ்") -> Path:
    """A decoder-only chat VLM (about 0.1 MB), LLaVA's architecture (a CLIP vision tower, a Llama language
    model) with a chat template, as page OCR models are: its language head is all zeros, so greedy decoding
    writes token 0, `always`, at every step."""
    import torch
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    torch.manual_seed(0)
    words = [always, "[UNK]", *(w for w in READER_WORDS if w != always), "read", "the", "text"]
    tokens = Tokenizer(models.WordLevel({word: i for i, word in enumerate(words)}, unk_token="[UNK]"))
    tokens.pre_tokenizer = pre_tokenizers.Whitespace()
    tokens.add_special_tokens([AddedToken(t, special=True, normalized=False)
                               for t in ("<|user|>", "<|assistant|>", "<|end|>", "<image>", "<pad>", "[UNK]")])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokens, unk_token="[UNK]", pad_token="<pad>",
                                        eos_token="<|end|>")
    template = ("{% for message in messages %}<|{{ message['role'] }}|>{% for c in message['content'] %}"
                "{% if c['type'] == 'image' %}<image>{% else %} {{ c['text'] }}{% endif %}{% endfor %}<|end|>"
                "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
    processor = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                  crop_size={"height": 32, "width": 32}),
                               tokenizer=tokenizer, chat_template=template, patch_size=16, image_token="<image>",
                               vision_feature_select_strategy="default", num_additional_image_tokens=1)
    small = {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2}
    config = LlavaConfig(vision_config=CLIPVisionConfig(**small, num_hidden_layers=2, image_size=32, patch_size=16),
                         text_config=LlamaConfig(**small, num_hidden_layers=1, num_key_value_heads=1,
                                                 vocab_size=len(tokenizer), max_position_embeddings=256),
                         image_token_id=tokenizer.convert_tokens_to_ids("<image>"), vision_feature_layer=-1,
                         vision_feature_select_strategy="default")
    model = LlavaForConditionalGeneration(config)
    with torch.no_grad():
        model.lm_head.weight.zero_()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def route_models(folder: Path) -> dict[str, Path]:
    """The readers the route tests send regions to: whole-page readers for Tamil and Thai, a Tamil line reader
    and a Tamil chat VLM, each answering its one word."""
    return {"tamil": tiny_captioner(folder / "tamil-page", "தமிழ்"),
            "thai": tiny_captioner(folder / "thai-page", "ใบลาน"),
            "tamil-line": tiny_line_reader(folder / "tamil-line", "தமிழ்"),
            "tamil-chat": tiny_chat_reader(folder / "tamil-chat", "தமிழ்")}
