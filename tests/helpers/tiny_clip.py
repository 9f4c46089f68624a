"""A tiny random CLIP of the official architecture, its tokenizer and a saved folder of both, with no download."""


def tiny_clip_config(act="quick_gelu"):
    from transformers import CLIPConfig

    text = dict(vocab_size=64, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=77, hidden_act=act, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                  num_attention_heads=4, hidden_act=act)
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)


def tiny_clip_tokenizer():
    """A character-level CLIP BPE tokenizer (no merges): enough for the templates, no download."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz-":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[])


def save_tiny_clip(folder):
    """Save a seeded tiny random CLIP (quick_gelu) and its processor (32 px) as a CLIPModel folder; returns it."""
    import torch
    from transformers import CLIPModel, CLIPProcessor

    from ddit_eval.geneval.colors import _image_processor

    torch.manual_seed(0)
    CLIPModel(tiny_clip_config()).save_pretrained(folder)
    CLIPProcessor(image_processor=_image_processor(32), tokenizer=tiny_clip_tokenizer()).save_pretrained(folder)
    return folder
