#!/usr/bin/env python3
"""LoRA fine-tuning entrypoint for ragmesh training runs (submitted by the model registry to Ray Jobs).

The registry submits, through the Ray Jobs REST API (POST /api/jobs/):

    python deploy/ray/train_lora.py --base-model <hf id or path> \
        --dataset-url http://<registry>/v1/admin/datasets/<version>/examples.jsonl \
        --output-dir <shared storage>/<run id> --epochs 3 --learning-rate 0.0002 --lora-r 16 --lora-alpha 32

with `entrypoint_num_gpus` from TRAINING_NUM_GPUS and `runtime_env` from TRAINING_RUNTIME_ENV (for example
{"working_dir": ".", "pip": ["-r deploy/ray/train_requirements.txt"]}).

What it does:
1. Downloads the dataset version: JSON Lines, one example per line, `{"messages": [{"role": "user", ...},
   {"role": "assistant", ...}], ...}` (rated, filtered and PII-scrubbed by the registry).
2. Tokenizes each example with the base model's chat template; only the assistant answer is trained on
   (prompt tokens are masked with -100).
3. Wraps the base model with a PEFT LoRA adapter (all linear layers by default) and trains it with AdamW and
   a linear schedule, holding out a small evaluation split.
4. Saves the adapter (adapter_config.json + adapter_model.safetensors) and the tokenizer into --output-dir.
   That directory must be on storage the vLLM servers also see: the registry then calls vLLM's
   POST /v1/load_lora_adapter {"lora_name": "<name>-vN", "lora_path": "<output-dir>"}
   (vLLM runs with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True).
5. Prints one line `RAGMESH_TRAINING_METRICS {json}` (train/eval loss, example counts, duration); the registry
   reads it from the job logs (GET /api/jobs/<id>/logs) and stores it with adapter version N. The same JSON is
   written to <output-dir>/ragmesh_metrics.json.

Any failure exits non-zero, so Ray marks the job FAILED and the registry retries it (up to max_retries).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
import urllib.request

METRICS_MARKER = "RAGMESH_TRAINING_METRICS "
IGNORE_INDEX = -100


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train a LoRA adapter on a ragmesh dataset version.")
    p.add_argument("--base-model", required=True, help="Hugging Face model id or local path of the base model")
    p.add_argument("--dataset-url", required=True, help="URL of the dataset version's examples.jsonl")
    p.add_argument("--output-dir", required=True, help="where the adapter is written (shared with the vLLM servers)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--learning-rate", type=float, default=2e-4)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--target-modules", default="all-linear", help='comma-separated module names, or "all-linear"')
    p.add_argument("--max-length", type=int, default=1024, help="tokens per example; longer ones are truncated")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--grad-accum", type=int, default=4)
    p.add_argument("--warmup-ratio", type=float, default=0.03)
    p.add_argument("--eval-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args(argv)


def download_examples(url: str, timeout: float = 60.0) -> list[list[dict]]:
    """The registry's JSONL export; every line must hold a user and an assistant message."""
    with urllib.request.urlopen(url, timeout=timeout) as res:  # noqa: S310 - the URL is the registry's own
        text = res.read().decode("utf-8")
    examples = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        messages = json.loads(line).get("messages")
        roles = [m.get("role") for m in messages or []]
        if "user" not in roles or roles[-1] != "assistant":
            raise ValueError(f"line {number}: expected user message(s) ending with an assistant answer, got roles {roles}")
        examples.append(messages)
    if not examples:
        raise ValueError(f"the dataset at {url} is empty")
    return examples


def token_ids(encoded) -> list[int]:
    """apply_chat_template answers a list of ids, or (newer transformers) a dict-like BatchEncoding."""
    if hasattr(encoded, "keys"):
        encoded = encoded["input_ids"]
    return [int(i) for i in encoded]


def encode(tokenizer, messages: list[dict], max_length: int) -> dict:
    """input_ids/labels for one chat; the prompt part (everything before the answer) is masked."""
    prompt_ids = token_ids(tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True))
    full_ids = token_ids(tokenizer.apply_chat_template(messages, tokenize=True))[:max_length]
    labels = list(full_ids)
    for i in range(min(len(prompt_ids), len(labels))):
        labels[i] = IGNORE_INDEX
    return {"input_ids": full_ids, "labels": labels}


def collate(batch: list[dict], pad_id: int):
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, b in enumerate(batch):
        n = len(b["input_ids"])
        input_ids[row, :n] = torch.tensor(b["input_ids"])
        labels[row, :n] = torch.tensor(b["labels"])
        attention[row, :n] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention}


def batches(items: list[dict], size: int, shuffle: bool, rng: random.Random):
    order = list(range(len(items)))
    if shuffle:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        yield [items[i] for i in order[start : start + size]]


def evaluate(model, items: list[dict], args, pad_id: int, device) -> float | None:
    import torch

    if not items:
        return None
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in batches(items, args.batch_size, False, random.Random(0)):
            inputs = {k: v.to(device) for k, v in collate(batch, pad_id).items()}
            total += model(**inputs).loss.item() * len(batch)
            count += len(batch)
    model.train()
    return total / count


def train(args: argparse.Namespace) -> dict:
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup

    started = time.time()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)

    chats = download_examples(args.dataset_url)
    print(f"loaded {len(chats)} examples from {args.dataset_url}", flush=True)

    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    items = [encode(tokenizer, chat, args.max_length) for chat in chats]
    rng.shuffle(items)
    n_eval = int(len(items) * args.eval_fraction) if len(items) >= 10 else 0
    eval_items, train_items = items[:n_eval], items[n_eval:]

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(args.base_model, torch_dtype=dtype).to(device)
    targets = args.target_modules if args.target_modules == "all-linear" else [m.strip() for m in args.target_modules.split(",")]
    lora = LoraConfig(task_type=TaskType.CAUSAL_LM, r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout, target_modules=targets)
    model = get_peft_model(model, lora)
    model.print_trainable_parameters()
    model.train()

    steps_per_epoch = math.ceil(len(train_items) / (args.batch_size * args.grad_accum))
    total_steps = max(1, steps_per_epoch * args.epochs)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * args.warmup_ratio), total_steps)

    last_loss = float("nan")
    for epoch in range(1, args.epochs + 1):
        running, seen = 0.0, 0
        for i, batch in enumerate(batches(train_items, args.batch_size, True, rng), start=1):
            inputs = {k: v.to(device) for k, v in collate(batch, tokenizer.pad_token_id).items()}
            loss = model(**inputs).loss
            (loss / args.grad_accum).backward()
            running += loss.item() * len(batch)
            seen += len(batch)
            if i % args.grad_accum == 0 or seen == len(train_items):
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
        last_loss = running / max(1, seen)
        print(f"epoch {epoch}/{args.epochs}: loss {last_loss:.4f}", flush=True)

    eval_loss = evaluate(model, eval_items, args, tokenizer.pad_token_id, device)
    os.makedirs(args.output_dir, exist_ok=True)
    model.save_pretrained(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)
    metrics = {
        "train_loss": round(last_loss, 6),
        "eval_loss": None if eval_loss is None else round(eval_loss, 6),
        "train_examples": len(train_items),
        "eval_examples": len(eval_items),
        "epochs": args.epochs,
        "lora_r": args.lora_r,
        "lora_alpha": args.lora_alpha,
        "base_model": args.base_model,
        "device": device.type,
        "duration_seconds": round(time.time() - started, 1),
    }
    with open(os.path.join(args.output_dir, "ragmesh_metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f)
    return metrics


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    metrics = train(args)
    print(f"{METRICS_MARKER}{json.dumps(metrics)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
