"""The loader's warm-up compiles every decoding loop the page's requests use, so that the first
request of each kind waits no longer than the next (benchmarks.first_request): a loop is chosen
by the plan's rules alone, and the warm-up writes one request of each set of rules the page can
ask for."""

import itertools

import pytest

from poetgen.api import WARM_UP_REQUESTS
from poetgen.app.handlers import NO_TUNE, Handlers
from poetgen.writing.params import WriteParams

THEME = "江雪 孤舟"
FORMS = [("自由", NO_TUNE), ("五绝", NO_TUNE), ("七绝", NO_TUNE), ("五律", NO_TUNE), ("七律", NO_TUNE),
         ("词", "浣溪沙"), ("词", "水调歌头")]
# temperature, top-k, top-p: the page's default, the defaults of pg5 (benchmarks.first_request's),
# top-k alone and with top-p, greedy.
SAMPLINGS = [(0.5, 0, 0.9), (0.8, 0, 1.0), (0.8, 40, 1.0), (0.5, 40, 0.9), (0.0, 0, 1.0)]


def loop_of(poet, **kwargs) -> tuple:
    """The compiled loop a request of these write() arguments is decoded by."""
    n, seed = kwargs.pop("n", 2), kwargs.pop("seed", 0)
    prepared, plan = poet.writer.plan(WriteParams.of(**kwargs), n, seed)
    return poet.decoder.merge_key(plan, prepared.sampling).loop


def page_requests(handlers):
    """The page's write arguments for every form, tune, theme, tone level and way of sampling."""
    for (form, tune), theme, tones, (temperature, top_k, top_p) in itertools.product(
            FORMS, ("", THEME), ("strict", "rhyme", "off"), SAMPLINGS):
        yield handlers.write_kwargs(form, "", "", theme, "自动", tones, temperature, top_k, top_p, 3, 101,
                                    "simplified", "唐", tune)


def test_every_request_of_the_page_uses_a_loop_the_warm_up_compiles(tiny_poet):
    warmed = {loop_of(tiny_poet, **asks) for asks in WARM_UP_REQUESTS}
    asked = {}
    for kwargs in page_requests(Handlers(tiny_poet)):
        asked.setdefault(loop_of(tiny_poet, **kwargs), kwargs)
    missing = {loop: kwargs for loop, kwargs in asked.items() if loop not in warmed}
    assert not missing, missing
    assert len(warmed) == len(WARM_UP_REQUESTS)  # no request of the warm-up compiles what another does


@pytest.mark.parametrize("a,b", [(dict(temperature=0.5, top_p=0.9), dict(temperature=0.8, top_p=1.0)),
                                 (dict(top_k=40), dict(temperature=0)), (dict(n=1), dict(n=16))])
def test_one_loop_serves_every_sampling_and_size_of_a_rule_set(tiny_poet, a, b):
    for asks in (dict(form="五律", theme=THEME), dict(cipai="浣溪沙"), dict(cipai="水调歌头", tones="off")):
        assert loop_of(tiny_poet, **asks, **a) == loop_of(tiny_poet, **asks, **b)
    assert loop_of(tiny_poet, form="七律", **a) == loop_of(tiny_poet, form="五绝", **b)


@pytest.fixture(scope="module")
def loading(tiny_model_dir):
    """The page's LoadingPoet over the tiny model, as `python app.py` makes one: its background
    thread loads the model, then warms it up (Poet.warm_up). Waited for when the module ends, so
    that no thread is still inside TensorFlow when the interpreter exits (that aborts the process)."""
    from poetgen.app.handlers import LoadingPoet

    poet = LoadingPoet(tiny_model_dir)
    yield poet
    assert poet.warm.wait(timeout=600)


def test_the_page_loads_its_poet_in_the_background(loading, tiny_model_dir, tmp_path):
    from poetgen.app.handlers import LoadingPoet
    from poetgen.errors import PoetgenError

    assert loading.model_dir == tiny_model_dir and loading.table.n_ping > 0  # at once, no model needed
    poems = loading.write(form="五绝", n=2, seed=3)  # waits for the model (a 七绝's loop: see below)
    assert [len(line) for line in poems[0].lines] == [5, 5, 5, 5]
    with pytest.raises(PoetgenError, match="not a poetgen model directory"):
        LoadingPoet(tmp_path)


def test_after_the_warm_up_the_first_request_of_each_kind_compiles_nothing(loading):
    """The page's own Poet, warmed up in the background (the session's has compiled loops of
    other tests; the one request above, made while it warmed up, is of a kind the warm-up
    compiles): the warm-up compiled one loop per request of WARM_UP_REQUESTS, and the first
    themed 五律 and the first 浣溪沙 of benchmarks.first_request (top-p 1, which the warm-up does
    not ask for) compile none."""
    assert loading.warm.wait(timeout=600)
    poet = loading._poet
    compiled = set(poet.decoder._compiled)
    assert compiled == {loop_of(poet, **asks) for asks in WARM_UP_REQUESTS}
    handlers = Handlers(loading)
    for form, theme, tune in (("五律", THEME, NO_TUNE), ("词", "", "浣溪沙"), ("七绝", "", NO_TUNE)):
        list(handlers.write(form, "", "", theme, "自动", "strict", 0.8, 0, 1.0, 3, 101, "simplified", "唐", tune))
    assert set(poet.decoder._compiled) == compiled
