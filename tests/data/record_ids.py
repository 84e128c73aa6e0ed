"""Record poems of the shipped model with their ids (python tests/data/record_ids.py tests/data/recorded_ids.json),
for test_shipped.py to check that a change of the decoding code rebuilds them. Each poem is
recorded with its id and with the same request in the earlier JSON id format (pg3_)."""
import base64
import json
import sys

from poetgen import Poet
from poetgen.writing.ids import decode_id

poet = Poet.load()
cases = [
    dict(form="七绝", n=2, seed=7),
    dict(form="五律", start="明月", temperature=0.8, top_k=40, top_p=0.95, n=2, seed=3),
    dict(form="七律", theme="思念故乡", rhyme="陽", n=1, seed=2, style="宋" if poet.tokenizer.conditioned else "唐"),
    dict(form="五绝", tones="rhyme", temperature=1.1, n=2, seed=11),
    dict(acrostic="春夏秋冬", n=2, seed=1),
    dict(form="七绝", tail="中紅月風", tones="rhyme", n=1, seed=4),
    dict(start="明月", form="free", n=2, seed=1, max_tokens=60),
    dict(start="明月", n=2, seed=5),
    dict(form="五绝", temperature=0, n=1, seed=0),
    dict(form="七绝", no_copy=False, max_repeat=0, top_p=0.9, n=1, seed=9),
    dict(form="五律", pattern="仄起首句不入韵", n=1, seed=5, script="traditional"),
    dict(cipai="浣溪沙", n=2, seed=1),
    dict(cipai="菩萨蛮", theme="秋夜", rhyme="第七部", tones="rhyme", n=1, seed=2),
]


def json_id(poem_id: str) -> str:
    params, seed, index = decode_id(poem_id, poet.model_hash)
    payload = {"m": poet.model_hash, "s": seed, "i": index, "p": params.to_id()}
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return "pg3_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


out = []
for case in cases:
    for p in poet.write(**case):
        out.append({"args": case, "id": p.id, "json_id": json_id(p.id), "text": p.text})
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump({"model_hash": poet.model_hash, "poems": out}, f, ensure_ascii=False, indent=1)
print(len(out))
