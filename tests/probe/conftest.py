"""Tiny random CLIP and GPT-2 saved locally, the benchmark fixtures, and a canned chat endpoint."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from helpers import benchmark_data
from helpers.torch_threads import one_torch_thread


@pytest.fixture(scope="package", autouse=True)
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(autouse=True)
def private_datasets_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "datasets-cache"))


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory):
    """A random 2-layer GPT-2 with a byte-level BPE tokenizer trained on the fixture captions."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    folder = tmp_path_factory.mktemp("gpt2")
    texts = [f"A {c} rectangle filling the whole picture. The picture is mostly {c}. Caption Question Answer yes no"
             for c in benchmark_data.COLOURS]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts * 4, vocab_size=320, min_frequency=1, special_tokens=["<|endoftext|>"], show_progress=False)
    end = "<|endoftext|>"
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=end, eos_token=end, unk_token=end)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=768, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory):
    """A random CLIP (both towers, as the OpenAI checkpoint) with a 32-pixel image processor."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = tmp_path_factory.mktemp("clip")
    torch.manual_seed(0)
    config = CLIPConfig(text_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                                     "num_attention_heads": 2, "vocab_size": 64, "max_position_embeddings": 8},
                        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                                       "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
                        projection_dim=24)
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    vqav2 = benchmark_data.make_hub_snapshot("VQAv2", tmp_path_factory.mktemp("hub"), rows=12)
    split_file, images = benchmark_data.make_karpathy(tmp_path_factory.mktemp("karpathy"))
    return {"vqav2": str(vqav2), "karpathy_file": str(split_file), "images_dir": str(images)}


@pytest.fixture(scope="session")
def ddit_model():
    from ddit_eval.backends import DEFAULT_MODEL, load_backend_model

    return load_backend_model(DEFAULT_MODEL, device="cpu")


class CannedChat:
    """A local OpenAI-compatible endpoint that answers every prompt with `reply`, recording requests."""

    def __init__(self, reply: str) -> None:
        self.reply, self.requests = reply, []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                canned.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                payload = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": canned.reply}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def chat_endpoint():
    canned = CannedChat("no\nbecause the caption says so")
    yield canned
    canned.server.shutdown()
