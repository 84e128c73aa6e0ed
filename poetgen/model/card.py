"""The model card: a README.md that lets a model directory explain itself."""

from __future__ import annotations

from ..text.forms import SONG, SONGCI
from .config import ModelConfig
from .evaluate import REGULATED_TANG

# The subsets whose perplexity a run logs each epoch and a card shows: column and label.
SUBSET_COLUMNS = {REGULATED_TANG: ("tang_regulated_ppl", "唐 律绝"), SONG: ("song_ppl", "宋诗"),
                  SONGCI: ("ci_ppl", "宋词")}


def subset_table(by_subset: dict) -> str:
    if not by_subset:
        return ""
    rows = "\n".join(f"| {name} | {r['poems']:,} | {r['chars']:,} | {r['char_perplexity']:.1f} |"
                     for name, r in by_subset.items())
    return f"""## Validation perplexity per collection and form (the exported weights)

`poetgen evaluate --split valid` gives the same figures.

| subset | poems | characters | char perplexity |
| --- | --- | --- | --- |
{rows}

"""


def weights_line(metrics: dict) -> str:
    averaged = metrics.get("averaged_epochs")
    what = f"the mean of the weights of epochs {averaged[0]}–{averaged[-1]}" if averaged else "the best epoch's weights"
    if "val_char_perplexity_best_epoch" not in metrics:
        return f"{what}, float32 (model.keras)"
    stored = ("float16 (weights.f16.npz), loaded back to float32 exactly" if metrics.get("weights") == "float16"
              else "float32 (model.keras)")
    return (f"{what}, {stored}: every figure but the history is measured on them (the best epoch as "
            f"trained: {metrics['val_char_perplexity_best_epoch']:.1f})")


def schedule_text(train_cfg: dict) -> str:
    start, every = train_cfg.get("lr_halve_from"), train_cfg.get("lr_halve_every")
    return f", and after epoch {start} and every {every} epochs after it" if start and every else ""


def init_text(init: dict | None) -> str:
    if not init:
        return ""
    ppl = init.get("val_char_perplexity")
    figure = f" (validation character perplexity {ppl:.1f})" if ppl is not None else ""
    return (f"\nStarted from the weights of the model `{init['model']}`{figure} with a fresh optimizer "
            "(`poetgen train --init`), not from random weights: the epochs and hours below are this run's own.\n")


def model_card(config: ModelConfig, train_cfg: dict, metrics: dict, best_row: dict) -> str:
    history = metrics["history"]
    extra = [(key, name) for key, name in SUBSET_COLUMNS.values() if any(key in h for h in history)]
    rows = "\n".join(
        f"| {h['epoch']} | {h['train_hours']:.2f} | {h['train_loss']:.4f} | {h['val_loss']:.4f} "
        f"| {h['val_char_ppl']:.1f} | " + "".join(f"{h[k]:.1f} | " if k in h else "– | " for k, _ in extra)
        + f"{h['tokens_per_s']:.0f} |"
        for h in history
    )
    extra_head = "".join(f" {name} ppl |" for _, name in extra)
    extra_rule = " --- |" * len(extra)
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
| weights on disk | {weights_line(metrics)} |

Training command: `{train_cfg.get('command', '')}`
{init_text(metrics.get('init'))}
Training config: batch {train_cfg.get('batch_size')}, Adam lr {train_cfg.get('learning_rate')}
(halved on each epoch without improvement{schedule_text(train_cfg)}), clipnorm {train_cfg.get('clipnorm')},
windows of {train_cfg.get('max_len')} tokens, characters seen at least {train_cfg.get('min_count')}
times, seed {train_cfg.get('seed')}. Machine: {metrics.get('machine') or 'not recorded'}.

{subset_table(metrics.get('valid_by_subset', {}))}## Validation perplexity against training time

| epoch | hours | train loss | val loss | val char ppl |{extra_head} tokens/s |
| --- | --- | --- | --- | --- |{extra_rule} --- |
{rows}

![loss curve](loss.png)
"""
