"""The page over real HTTP: gradio_client against a live server, and raw requests with bad input."""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from conftest import REPO

gradio_client = pytest.importorskip("gradio_client")

WRITE_ARGS = ["七绝", "", "春夏秋冬", "", "自动", "strict", 0.8, 0, 1.0, 2, 1, "simplified", "唐", "（选词牌）", "best",
              False]


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server + "/", verbose=False)


def test_named_endpoints_only(client):
    assert set(client.view_api(return_format="dict")["named_endpoints"]) == {
        "/write", "/check", "/repair", "/regenerate", "/alternatives"}


def plain_text(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def poem_texts(markup: str) -> list[str]:
    """The text of each poem shown, without marks of checking or line breaks."""
    return [plain_text(p.replace("<br>", "")) for p in re.findall(r'<div class="poem">(.*?)</div>', markup)]


def test_write_streams_then_check_regenerate_and_alternatives(client):
    job = client.submit(*WRITE_ARGS, api_name="/write")
    html, text, poem_id = job.result(timeout=120)
    partials = [out[0] for out in job.outputs()]
    assert len(partials) >= 3 and partials[-1] == html
    drafts = partials[:-1]  # each poem's first candidate while writing; then the ones the search kept
    for before, after in zip(drafts, drafts[1:]):  # each draft grows, never changes
        poems_before, poems_after = poem_texts(before), poem_texts(after)
        assert len(poems_before) == len(poems_after) == 2
        assert all(a.startswith(b) for b, a in zip(poems_before, poems_after))
    assert len(poem_texts(partials[0])[0]) < len(poem_texts(html)[0])  # the first is a real draft
    assert html.count('class="poem"') == 2 and "合律" in html
    poems = text.split("\n\n")
    assert len(poems) == 2
    for poem in poems:
        lines = poem.split("\n")
        assert [line[0] for line in lines] == list("春夏秋冬") and all(len(line) == 8 for line in lines)
    assert poem_id.startswith("pg7_") and poem_id in html

    again = client.predict(poem_id, api_name="/regenerate")
    assert plain_text(again).split("编号")[0] == plain_text(html).split("编号")[0]

    report = client.predict("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", api_name="/check")
    assert "五绝" in report and "合律" in report

    choices, radio = client.predict(poem_id, 2, 3, api_name="/alternatives")
    assert radio["__type__"] == "update"  # the page's radio gets the choices, the API the JSON
    assert 1 <= len(choices) <= 8 and radio["value"].startswith(choices[0]["char"])
    assert [label.split()[0] for label, _ in radio["choices"]] == [c["char"] for c in choices]
    probs = [c["probability"] for c in choices]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1


def test_a_ci_over_http_then_its_check(client):
    html, text, poem_id = client.predict("词", "", "", "秋夜", "自动", "strict", 0.8, 0, 1.0, 1, 5, "simplified",
                                         "宋", "浣溪沙", api_name="/write")
    lines = [line for line in text.split("\n") if line]
    assert [len(line) for line in lines] == [8] * 6 and text.split("\n")[3] == ""  # 7 + mark; two stanzas
    assert "浣溪沙" in html and "合律" in html and html.count('class="stanza"') == 1
    report = client.predict(text, "自动识别", api_name="/check")
    assert "浣溪沙" in report and "合律" in report
    report = client.predict(text, "菩萨蛮", api_name="/check")
    assert "句式不合" in report
    again = client.predict(poem_id, api_name="/regenerate")
    assert plain_text(again).split("编号")[0] == plain_text(html).split("编号")[0]


def raw_call(server, endpoint, data):
    """Call an endpoint the way a script would, skipping the client's own checks."""
    body = json.dumps({"data": data}).encode()
    req = urllib.request.Request(f"{server}/gradio_api/call/{endpoint}", body,
                                 {"Content-Type": "application/json"})
    event_id = json.loads(urllib.request.urlopen(req, timeout=30).read())["event_id"]
    return urllib.request.urlopen(f"{server}/gradio_api/call/{endpoint}/{event_id}", timeout=60).read().decode()


def sse_events(stream: str) -> list[tuple[str, object]]:
    """(event, decoded data) pairs of a server-sent event stream."""
    events, name = [], None
    for line in stream.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.split(":", 1)[1])))
    return events


@pytest.mark.parametrize("index,value", [
    (6, float("nan")), (6, None), (6, "hot"), (6, 99.0), (9, 10_000), (9, 2.5), (10, -5),
    (2, "春" * 100_000), (0, "十四行"), (5, "loud"), (1, 12), (12, "元"),
])
def test_bad_input_over_raw_http_is_refused(server, index, value):
    data = list(WRITE_ARGS)
    data[index] = value  # json.dumps sends a NaN as the bare token NaN, as some clients do
    events = sse_events(raw_call(server, "write", data))
    assert [name for name, _ in events][-1] == "error"
    assert not any("poem" in str(payload) for _, payload in events)
    # and the next request still works
    done = [payload for name, payload in sse_events(raw_call(server, "write", WRITE_ARGS)) if name == "complete"]
    assert done and 'class="poem"' in done[-1][0]


MALFORMED = [  # (endpoint, data): wrong types, nulls, missing values, forged ids, out-of-range places
    ("write", [*WRITE_ARGS[:6], "hot", *WRITE_ARGS[7:]]),
    ("write", [*WRITE_ARGS[:9], None, *WRITE_ARGS[10:]]),
    ("write", [*WRITE_ARGS[:10], "seven", *WRITE_ARGS[11:]]),
    ("write", [*WRITE_ARGS[:7], [1, 2], *WRITE_ARGS[8:]]),
    ("write", WRITE_ARGS[:13]),
    ("write", [*WRITE_ARGS[:2], "春夏秋", *WRITE_ARGS[3:]]),  # three heads for a 七绝
    ("write", ["词", *WRITE_ARGS[1:4], "第七部", *WRITE_ARGS[5:13], "浣沙溪", *WRITE_ARGS[14:]]),
    ("check", [None, "自动识别"]),
    ("check", ["白日依山尽", 5]),
    ("check", [12345, "自动识别"]),
    ("regenerate", ["pg5_" + "A" * 20]),
    ("regenerate", [None]),
    ("regenerate", ["not an id"]),
    ("alternatives", ["pg5_AAAA", "two", None]),
    ("alternatives", [None, 1, 1]),
]


def test_every_malformed_call_gets_a_chinese_message_and_one_log_line(server, capfd, caplog):
    capfd.readouterr()
    caplog.clear()
    for endpoint, data in MALFORMED:
        events = sse_events(raw_call(server, endpoint, data))
        name, payload = events[-1]
        assert name == "error", (endpoint, data, events)
        message = payload["error"]
        assert message and re.search(r"[\u4e00-\u9fff]", message), (endpoint, data, message)
        named = re.sub("pg[56]_|top-[kp]", "", message)  # the page's own labels
        assert not re.search(r"[A-Za-z]{3,}", named), message  # no English
    assert "Traceback" not in capfd.readouterr().err
    lines = [r for r in caplog.records if r.name == "poetgen.page" and "rejected request" in r.getMessage()]
    assert len(lines) == len(MALFORMED)


@pytest.mark.parametrize("path", ["/etc/passwd", "app.py", "models/x/model.keras", "../../etc/passwd"])
def test_files_outside_the_page_are_refused(server, path):
    from conftest import REPO

    for target in (path, str(REPO / path)):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{server}/gradio_api/file={target}", timeout=10)
        assert err.value.code in (403, 404)


@pytest.fixture(scope="module", autouse=True)
def apps(request, tiny_model_dir, tiny_corpus, tmp_path_factory):
    """`python app.py` in processes of their own, started with the module (for the tests of them
    that are to run) so that they import Gradio and TensorFlow, and one loads and compiles its
    model, while the tests before theirs run: one with a model directory that is not there, one
    on the tiny model (a free port, the tiny corpus, the user's TF_CPP_MIN_LOG_LEVEL: unset). Each
    test waits for its own."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = tmp_path_factory.mktemp("app") / "nowhere"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["POETGEN_CORPUS"] = str(tiny_corpus)
    commands = {"missing": ([str(nowhere), "--port", "0"], None, test_app_refuses_a_missing_model_clearly),
                "tiny": ([str(tiny_model_dir), "--port", str(port)], env,
                         test_the_page_log_has_no_tensorflow_start_up_lines)}
    selected = {item.function for item in request.session.items}
    started = {name: subprocess.Popen([sys.executable, "app.py", "--model", *args], cwd=REPO, env=run_env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name, (args, run_env, test) in commands.items() if test in selected}
    yield started
    for proc in started.values():  # a test that failed early leaves its process behind
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_app_refuses_a_missing_model_clearly(apps):
    from conftest import finish

    done = finish(apps["missing"], 120)
    assert done.returncode != 0
    assert "not a poetgen model directory" in done.stderr and "Traceback" not in done.stderr


def test_sixteen_clients_at_once_get_their_own_poems(server, tiny_poet):
    """A bounded load on loopback: 16 clients x 5 requests, no errors, each poem exactly the one
    its seed gives alone (concurrent requests are merged into shared decoding passes)."""
    from concurrent.futures import ThreadPoolExecutor

    passes = []
    real = tiny_poet.decoder.advance_many
    tiny_poet.decoder.advance_many = lambda reqs, stop: passes.append(len(reqs)) or real(reqs, stop)
    try:
        def client(k):
            texts = []
            for r in range(5):
                data = ["五绝", "", "", "", "自动", "strict", 0.8, 0, 1.0, 1, 100 * k + r, "simplified", "唐",
                        "（选词牌）", "best", False]
                done = [p for name, p in sse_events(raw_call(server, "write", data)) if name == "complete"]
                texts.append(done[-1][1] if done else None)
            return texts

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(client, range(16)))
    finally:
        del tiny_poet.decoder.advance_many
    texts = [t for texts in results for t in texts]
    assert len(texts) == 80 and None not in texts
    assert max(passes) > 1  # some requests did share a pass
    for k, r in ((0, 0), (7, 3), (15, 4)):  # spot checks against the poem written alone
        alone = tiny_poet.write(form="五绝", n=1, seed=100 * k + r, script="simplified", tones="strict",
                                temperature=0.8, top_p=1.0)  # as the clients asked
        assert results[k][r] == alone[0].text


def test_page_handlers_work_without_a_server(tiny_poet):
    """The handlers are plain methods: called directly, they check raw input and answer."""
    import gradio as gr

    from poetgen.app.handlers import Handlers

    handlers = Handlers(tiny_poet)
    args = ["五绝", "", "", "", "自动", "strict", 0.8, 0, 1.0, 2, 3, "simplified", "唐", "（选词牌）"]
    *drafts, (html, text, first_id) = list(handlers.write(*args))
    assert html.count('class="poem"') == 2 and len(text.split("\n\n")) == 2
    assert all(len(line) == 6 for poem in text.split("\n\n") for line in poem.split("\n"))  # 5 + mark
    assert poem_texts(handlers.regenerate(first_id)) == poem_texts(html)[:1]  # the id's poem, again
    assert "合律" in handlers.check("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。")
    for index, value, word in ((0, "十四行", "诗体"), (12, "元", "风格"), (9, 0, "首数"), (6, float("nan"), "温度"),
                               (13, "浣沙溪", "词牌"), (4, "第七部", "词林正韵")):
        bad = list(args)
        bad[index] = value
        with pytest.raises(gr.Error, match=word):
            list(handlers.write(*bad))


def test_the_page_log_has_no_tensorflow_start_up_lines(apps):
    import time

    proc = apps["tiny"]
    try:
        deadline = time.monotonic() + 120
        out = ""
        while "warm:" not in out and time.monotonic() < deadline and proc.poll() is None:
            out += proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "warm:" in out, (out, err)
    for chatter in ("absl", "cudart", "oneDNN", "cuda drivers"):
        assert chatter not in err and chatter not in out, err
