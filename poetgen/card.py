"""The model card: a README.md that lets a model directory explain itself."""

from __future__ import annotations

from .model import ModelConfig


def model_card(config: ModelConfig, train_cfg: dict, metrics: dict, best_row: dict) -> str:
    rows = "\n".join(
        f"| {h['epoch']} | {h['train_hours']:.2f} | {h['train_loss']:.4f} | {h['val_loss']:.4f} "
        f"| {h['val_char_ppl']:.1f} | {h['tokens_per_s']:.0f} |"
        for h in metrics["history"]
    )
    layers = f"{config.layers}×LSTM({config.hidden})"
    proj = f" → Dense({config.proj_dim})" if config.proj_dim else ""
    return f"""# poetgen model

Embedding({config.vocab_size}, {config.embed_dim}) → {layers} → Dropout({config.dropout}){proj}
→ Dense({config.vocab_size}) logits,
{metrics['parameters']:,} parameters, trained with sparse categorical cross-entropy on the
poetgen corpus (sha256 `{metrics['corpus_sha256'][:16]}…`), traditional characters.

| figure | value |
| --- | --- |
| validation character perplexity | {metrics['val_char_perplexity']:.1f} |
| validation token perplexity | {metrics['val_token_perplexity']:.1f} |
| best epoch / epochs run | {metrics['best_epoch']} / {metrics['epochs_run']} |
| training time to the best epoch | {metrics['train_seconds_to_best'] / 3600:.2f} h |
| training tokens/s (median epoch) | {metrics['train_tokens_per_s']:.0f} |

Training command: `{train_cfg.get('command', '')}`

Training config: batch {train_cfg.get('batch_size')}, Adam lr {train_cfg.get('learning_rate')}
(halved on each epoch without improvement), clipnorm {train_cfg.get('clipnorm')},
windows of {train_cfg.get('max_len')} tokens, characters seen at least {train_cfg.get('min_count')}
times, seed {train_cfg.get('seed')}. Machine: 2 CPU cores (AMD EPYC, AVX2), no GPU.

## Validation perplexity against training time

| epoch | hours | train loss | val loss | val char ppl | tokens/s |
| --- | --- | --- | --- | --- | --- |
{rows}

![loss curve](loss.png)
"""
