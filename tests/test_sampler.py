import numpy as np
import pytest
import tensorflow as tf

from poetgen.errors import GenerationError
from poetgen.text.forms import SHAPE_OF_FORM
from poetgen.writing.decoder import NEG_INF
from poetgen.writing.params import WriteParams
from poetgen.writing.planning import Request, plan_request
from poetgen.writing.sampling import log_normalizer, sample_rows, sample_top_k, top_p_filter


def zero_states(decoder, batch):
    return [(tf.zeros([batch, n]), tf.zeros([batch, n])) for n in decoder.hidden]


def generate(decoder, plan, sampling):
    tokens, logprobs, _ = decoder.advance_many([(plan, sampling, None)], plan.forced.shape[1])[0]
    return tokens, logprobs


def test_compiled_step_matches_the_keras_model(tiny_poet):
    tok, decoder = tiny_poet.tokenizer, tiny_poet.decoder
    ids = tok.encode("床前明月光，疑是地上霜。", form="五绝")
    want = np.asarray(tiny_poet.model(np.array([ids], np.int32)))[0]
    states = zero_states(decoder, 1)
    for t, token in enumerate(ids):
        top, states = decoder.recur(tf.constant([token]), states)
        logits = decoder.head(top)
        np.testing.assert_allclose(logits.numpy()[0], want[t], rtol=1e-4, atol=1e-4)


def test_decoder_of_a_two_layer_model_matches_keras(tiny_poet):
    """The first layer reads a precomputed input table, the layers above a matmul on [x, h]:
    both must give Keras's own outputs."""
    from poetgen.model.network import ModelConfig, build_model
    from poetgen.writing.decoder import Decoder

    tok = tiny_poet.tokenizer
    model = build_model(ModelConfig(vocab_size=len(tok), embed_dim=8, hidden=12, layers=2, proj_dim=0))
    decoder = Decoder(model, tok)
    ids = tok.encode("床前明月光，疑是地上霜。", form="五绝")
    want = np.asarray(model(np.array([ids, ids[::-1]], np.int32)))
    states = zero_states(decoder, 2)
    for t in range(len(ids)):
        top, states = decoder.recur(tf.constant([ids[t], ids[::-1][t]]), states)
        logits = decoder.head(top)
        np.testing.assert_allclose(logits.numpy(), want[:, t], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("form", ["五绝", "七绝", "五律", "七律"])
def test_forms_are_exact(tiny_poet, form):
    length, count = SHAPE_OF_FORM[form]
    for poem in tiny_poet.write(form=form, n=8, seed=4, temperature=1.5, search="off"):  # samples, not a search
        assert poem.form == form
        assert [len(line) for line in poem.lines] == [length] * count
        assert poem.text.split("\n") == [
            line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(poem.lines)]


def test_start_text_opens_the_poem_in_either_script(tiny_poet):
    for poem in tiny_poet.write(start="明月", form="五律", n=3, seed=1):
        assert poem.lines[0].startswith("明月")
    # simplified input is mapped to the model's traditional characters
    assert tiny_poet.write(start="风", form="五绝", seed=1, script="traditional")[0].lines[0].startswith("風")
    simple = tiny_poet.write(start="风", form="五绝", seed=1, script="simplified")[0]
    assert simple.lines[0].startswith("风")


def test_same_seed_same_poems_and_batch_size_does_not_matter(tiny_poet):
    a = tiny_poet.write(form="七绝", n=4, seed=11)
    b = tiny_poet.write(form="七绝", n=4, seed=11)
    assert [p.text for p in a] == [p.text for p in b]
    assert tiny_poet.write(form="七绝", n=1, seed=11)[0].text == a[0].text
    assert len({p.text for p in a}) > 1
    assert tiny_poet.write(form="七绝", n=4, seed=12)[0].text != a[0].text


def test_free_poems_end_at_a_period_and_never_open_a_line_with_punctuation(tiny_poet):
    for poem in tiny_poet.write(n=16, seed=2, temperature=1.2, max_tokens=60, search="off"):
        assert poem.text.endswith("。")
        assert all(poem.lines) and all(line.strip("，。") == line for line in poem.lines)
        assert poem.form in ("五绝", "七绝", "五律", "七律", "其他")


def test_greedy_is_deterministic_and_equals_top_k_1(tiny_poet):
    greedy = tiny_poet.write(form="五绝", temperature=0, n=2, seed=1, tones="off")
    assert greedy[0].text == greedy[1].text
    top1 = tiny_poet.write(form="五绝", temperature=1.0, top_k=1, seed=9, tones="off")
    assert top1[0].text == greedy[0].text


def test_score_is_the_mean_log_probability_per_character(tiny_poet):
    params = dict(start="", form="五绝", temperature=0.8, top_k=0, top_p=1.0, script="traditional",
                  max_tokens=120, acrostic="", tail="", theme="", rhyme=None, tones=None, pattern=None,
                  no_copy=True, max_repeat=2)
    (poem,), tokens = tiny_poet.writer.drafts(WriteParams(**params), 1, 3)[:2]
    tok = tiny_poet.tokenizer
    # The tokens themselves: the text may not map back to them (a corpus can hold both 凭 and 憑).
    ids = [tok.bos, *(t for t in tokens[0] if t != tok.pad)]
    logits = np.asarray(tiny_poet.model(np.array([ids[:-1]], np.int32)))[0].astype(np.float64)
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    chars = [(t, ids[t + 1]) for t in range(len(ids) - 1) if ids[t + 1] >= tok.first_char]
    assert poem.score == pytest.approx(np.mean([logp[t, c] for t, c in chars]), abs=1e-3)


def test_sample_rows_draws_from_the_softmax_and_never_a_masked_token():
    rng = np.random.default_rng(0)
    vocab, draws = 150, 40_000  # not a multiple of the block: the last block is partial
    logits = rng.standard_normal(vocab).astype(np.float32) * 2
    logits[rng.choice(vocab, 60, replace=False)] = NEG_INF
    logits[vocab - 1] = NEG_INF
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    u = tf.constant(rng.random(draws), tf.float32)
    chosen = sample_rows(tf.constant(np.tile(logits, (draws, 1))), u).numpy()
    assert probs[chosen].min() > 0
    counts = np.bincount(chosen, minlength=vocab) / draws
    assert np.abs(counts - probs).max() < 0.01
    # A row's token depends on its own logits and u only.
    alone = sample_rows(tf.constant(logits[None]), u[:1]).numpy()
    np.testing.assert_array_equal(alone[:1], chosen[:1])


def test_sample_rows_at_the_ends_of_the_interval():
    logits = np.full((3, 130), NEG_INF, np.float32)
    logits[:, [5, 64, 127]] = 0.0  # three equally likely tokens in three blocks
    u = tf.constant([0.0, 0.5, np.nextafter(np.float32(1), np.float32(0))], tf.float32)
    assert sample_rows(tf.constant(logits), u).numpy().tolist() == [5, 64, 127]
    one = np.full((1, 70), NEG_INF, np.float32)
    one[0, 69] = 3.0
    assert sample_rows(tf.constant(one), tf.constant([0.999999], tf.float32)).numpy().tolist() == [69]


def test_log_normalizer_is_log_sum_exp_even_far_from_zero():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 300)).astype(np.float32) * 10
    logits[1] += 500.0  # exp overflows without a shift
    logits[2] -= 500.0  # and underflows
    logits[3, 10:] = NEG_INF  # masked tokens count for nothing
    logits[4, :] = -7.0  # uniform: log(300) above the value
    want = tf.reduce_logsumexp(tf.constant(logits, tf.float64), axis=-1).numpy()
    np.testing.assert_allclose(log_normalizer(tf.constant(logits)).numpy(), want, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(want[4], -7.0 + np.log(300), rtol=1e-9)


def test_top_p_filter():
    logits = tf.constant([[1.0, 3.0, 2.0, 0.0]])
    probs = tf.nn.softmax(logits).numpy()[0]  # ~ .09 .64 .24 .03
    kept = top_p_filter(logits, 0.7).numpy() > NEG_INF / 2
    assert kept.tolist() == [[False, True, True, False]]
    assert probs[1] < 0.7 < probs[1] + probs[2]
    assert (top_p_filter(logits, 0.5).numpy() > NEG_INF / 2).tolist() == [[False, True, False, False]]


@pytest.mark.parametrize("top_p", [None, 0.8])
def test_sample_top_k_draws_from_the_renormalized_head(top_p):
    rng = np.random.default_rng(2)
    vocab, k, draws = 300, 12, 30_000
    logits = (rng.standard_normal(vocab) * 1.5).astype(np.float32)
    logits[np.argsort(-logits)[3]] = NEG_INF  # a token the rules masked ranks 4th: never drawn
    head = np.argsort(-logits)[:k]
    probs = np.exp(logits[head] - logits[head].max())
    probs /= probs.sum()
    if top_p is not None:  # the smallest head of the head whose mass reaches top_p
        probs = np.where(np.cumsum(probs) - probs < top_p, probs, 0.0)
        probs /= probs.sum()
    want = np.zeros(vocab)
    want[head] = probs
    u = tf.constant(rng.random(draws), tf.float32)
    chosen = sample_top_k(tf.constant(np.tile(logits * 0.5, (draws, 1))), k, u, 0.5, top_p).numpy()
    assert set(chosen) == set(np.flatnonzero(want))
    assert np.abs(np.bincount(chosen, minlength=vocab) / draws - want).max() < 0.01


@pytest.mark.parametrize("scale", [4.0, 0.05])  # peaked: nucleus among the candidates; flat: it is not
def test_top_p_shortcut_equals_a_full_sort(scale):
    logits = tf.constant(np.random.default_rng(0).normal(size=(6, 500)) * scale, tf.float32)
    fast = top_p_filter(logits, 0.9, candidates=64).numpy() > NEG_INF / 2
    full = top_p_filter(logits, 0.9, candidates=500).numpy() > NEG_INF / 2
    assert (fast == full).all()
    probs = tf.nn.softmax(logits).numpy()
    for row, keep in zip(probs, full):
        assert row[keep].sum() >= 0.9 and row[keep].sum() - row[keep].min() < 0.9  # smallest such set
    assert (full.sum(axis=1) > 64).any() == (scale < 1)


@pytest.mark.parametrize("kwargs,message", [
    ({"temperature": float("nan")}, "temperature"),
    ({"temperature": -1.0}, "temperature"),
    ({"temperature": float("inf")}, "temperature"),
    ({"top_k": -3}, "top_k"),
    ({"top_p": 0.0}, "top_p"),
    ({"n": 0}, "n must be"),
    ({"n": 10_000}, "n must be"),
    ({"seed": -1}, "seed"),
    ({"form": "十四行"}, "unknown form"),
    ({"start": "明月𠀋z"}, "characters of the start text: 𠀋z"),
    ({"start": "一二三四五六七八九十一二三四五六七八九十一", "form": "五绝"}, "only 20"),
    ({"script": "latin"}, "script"),
])
def test_bad_requests_name_the_problem(tiny_poet, kwargs, message):
    with pytest.raises(GenerationError, match=message):
        tiny_poet.write(**kwargs)


def test_plan_for_a_form(tiny_poet):
    tok = tiny_poet.tokenizer
    plan = plan_request(tiny_poet.vocab, Request(form="五绝", start=(tok.index["明"],)), 2, seed=0)
    # <唐诗><五绝>, then 4 lines of 5 characters and a mark each, then <eos>
    assert plan.forced.shape == (2, 2 + 24 + 1)
    assert list(plan.forced[0, :2]) == [tok.index["<唐诗>"], tok.form_token("五绝")]
    assert plan.forced[0, 2] == tok.index["明"]
    assert plan.forced[0, 7] == tok.comma and plan.forced[0, 13] == tok.period
    assert plan.forced[0, -1] == tok.eos
    song = plan_request(tiny_poet.vocab, Request(form="五绝", collection="宋诗"), 1, seed=0)
    assert list(song.forced[0, :2]) == [tok.index["<宋诗>"], tok.form_token("五绝")]
    free = plan_request(tiny_poet.vocab, Request(max_len=50), 1, seed=0)
    # a free poem: the collection forced, then the model chooses the form
    assert free.forced.shape == (1, 50) and free.forced[0, 0] == tok.index["<唐诗>"]
    assert (free.forced[0, 1:] == -1).all()


def _plan(poet, seed: int, n: int, **overrides):
    params = {**dict(start="", form="七绝", temperature=0.9, top_k=0, top_p=1.0, script="traditional",
                     max_tokens=120, acrostic="", tail="", theme="", rhyme=None, tones=None, pattern=None,
                     no_copy=True, max_repeat=2, style="唐"), **overrides}
    prepared = poet.requests.prepare(WriteParams(**params), seed)
    req, sampling, keywords = prepared.request, prepared.sampling, prepared.keywords
    bias = np.tile(poet.writer.theme(keywords), (n, 1)) if keywords else None
    return plan_request(poet.vocab, req, n, seed, bias), sampling


def test_merged_requests_get_exactly_their_own_tokens(tiny_poet):
    decoder = tiny_poet.decoder
    for extra in ({}, {"theme": "春风", "acrostic": "春夏秋冬"}):
        requests = [_plan(tiny_poet, seed, n, **extra) for seed, n in ((1, 1), (2, 3), (3, 2))]
        alone = [generate(decoder, plan, sampling) for plan, sampling in requests]
        length = requests[0][0].forced.shape[1]
        together = decoder.advance_many([(plan, sampling, None) for plan, sampling in requests], length)
        for (a_tokens, a_lp), (t_tokens, t_lp, _) in zip(alone, together, strict=True):
            np.testing.assert_array_equal(a_tokens, t_tokens)
            np.testing.assert_allclose(a_lp, t_lp, atol=1e-4)
        assert len({tuple(t[0]) for t, _, _ in together}) == 3  # different seeds, different poems
    with pytest.raises(ValueError, match="one merge key"):
        mixed = [_plan(tiny_poet, 1, 1), _plan(tiny_poet, 1, 1, form="五绝")]
        decoder.advance_many([(plan, sampling, None) for plan, sampling in mixed], 30)


def test_concurrent_writes_share_one_pass(tiny_poet, monkeypatch):
    import threading

    calls = []
    real = tiny_poet.decoder.advance_many
    monkeypatch.setattr(tiny_poet.decoder, "advance_many",
                        lambda reqs, stop: calls.append(len(reqs)) or real(reqs, stop))
    asks = [dict(form="七绝", seed=s, n=n) for s, n in ((5, 1), (6, 2), (7, 1), (8, 1))]
    alone = [[p.text for p in tiny_poet.write(**a)] for a in asks]
    calls.clear()
    results = [None] * len(asks)

    def ask(i):
        results[i] = [p.text for p in tiny_poet.write(**asks[i])]

    with tiny_poet.merging.busy:  # a pass under way: the four requests queue up behind it
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(asks))]
        for t in threads:
            t.start()
        while len(tiny_poet.merging.waiting) < len(asks):
            threading.Event().wait(0.01)
    for t in threads:
        t.join(timeout=60)
    assert calls == [4]  # one merged pass for all four
    assert results == alone


def test_streamed_writing_gives_the_same_poems(tiny_poet):
    for ask in (dict(form="七绝", n=3, seed=4), dict(form="五律", theme="春风", n=2, seed=9, search="off"),
                dict(n=2, seed=3, max_tokens=40, search="off")):
        steps = list(tiny_poet.write_stream(chunk=5, **ask))
        texts, poems = steps[-1]
        alone = tiny_poet.write(**ask)
        assert [p.text for p in poems] == [p.text for p in alone] == texts
        assert [p.id for p in poems] == [p.id for p in alone]
        drafts = [draft for draft, finished in steps[:-1]]
        assert len(drafts) >= 2 and all(finished is None for _, finished in steps[:-1])
        for before, after in zip(drafts, drafts[1:]):
            assert all(len(b) < len(a) and a.startswith(b) for b, a in zip(before, after))
        # The drafts are of each poem's first candidate: with search they need not grow into the
        # poem kept. (A free poem cut at the length cap keeps only its whole couplets.)
        if "form" in ask and ask.get("search") == "off":
            assert all(p.text.replace("\n", "").startswith(d) for p, d in zip(poems, drafts[-1]))
    with pytest.raises(GenerationError, match="rerank"):
        list(tiny_poet.write_stream(rerank=True))
    with pytest.raises(GenerationError, match="colour"):
        list(tiny_poet.write_stream(colour="red"))


def test_theme_bias_pulls_keywords_hardest_and_their_nearest_characters_gently(tiny_poet):
    tok = tiny_poet.tokenizer
    moon = tok.index["月"]
    bias = tiny_poet.writer.theme(["月"])
    emb = tiny_poet.decoder.embedding.numpy()
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sims = unit @ unit[moon]
    sims[: tok.first_char] = -1  # never pull toward punctuation or control tokens
    sims[moon] = -np.inf
    nearest = np.argsort(-sims)[:12]
    from poetgen.writing.theme_bias import STRENGTH

    assert bias[moon] == STRENGTH
    np.testing.assert_allclose(bias[nearest], STRENGTH * 0.4 * np.clip(sims[nearest], 0, 1), rtol=1e-5)
    assert set(np.flatnonzero(bias)) <= {moon, *nearest}
    assert not bias[: tok.first_char].any()
