#!/usr/bin/env python3
"""Produce llama.cpp reference outputs ("goldens") for Realm's correctness tests.

Runs OUTSIDE CI, against llama.cpp through llama-cpp-python (see README.md in
this folder for the reference environment). CI only reads the committed files
under engine/testdata/goldens.

    /work/ref/venv/bin/python scripts/goldens/make_goldens.py MODEL.gguf NAME [--logits f32|f16]

writes engine/testdata/goldens/tokenizer_corpus.json, NAME.json,
NAME.logits.f32 and NAME.logits_seq.f32 (f16 for large vocabularies);
README.md describes the format.
"""
import argparse
import ctypes
import hashlib
import json
import os
import sys

import numpy as np
import llama_cpp
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "engine", "testdata", "goldens")
N_CTX = 2048
N_BATCH = 512
N_UBATCH = 512
# 1 thread: llama.cpp's results do not depend on it (checked below against 2),
# and OpenMP barriers crawl when a busy machine deschedules one of 2 threads.
N_THREADS = 1
N_GREEDY = 48
CHAT_MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
# Logits bigger than this (n_vocab * prompts * 4 bytes) are stored as float16.
F32_LIMIT = 4 << 20

PARAGRAPH = (
    "Once upon a time, in a small village nestled between rolling hills and a quiet river, there lived "
    "an old clockmaker named Elias. Every morning he opened the shutters of his little shop, dusted the "
    "shelves lined with ticking clocks, and greeted the children who stopped by on their way to school. "
    "They loved to watch him work, his steady hands coaxing tiny gears into place, his eyes bright behind "
    "round spectacles. One winter day, a stranger arrived carrying a broken pocket watch wrapped in a "
    "silk handkerchief. The stranger said that the watch had belonged to"
)

# Over 512 tokens: the prompt spans two n_batch chunks and exceeds Gemma 3's
# 512-token sliding attention window.
LONG = (
    "Chapter One.\n\n" + PARAGRAPH + " his grandmother, and that it had stopped on the night she died. "
    "Elias turned the watch over in his palm. The case was silver, worn smooth at the edges, and engraved "
    "with a pattern of leaves. When he opened it, he found a faded photograph tucked behind the crystal.\n\n"
    "Chapter Two.\n\nThe repair took eleven days. Elias cleaned each wheel with a soft brush, replaced the "
    "mainspring, and polished the pivots until they shone. At night he read old catalogues by candlelight, "
    "searching for the maker's mark stamped inside the movement: a small crown above the letters R and M. "
    "Nobody in the village had seen such a mark before, not even the schoolteacher, who kept a shelf of "
    "books about the history of the region and liked to say that every object has a story.\n\n"
    "Chapter Three.\n\nThe stranger returned on a grey morning in February. Snow had fallen overnight, and "
    "the street outside the shop was silent except for the scrape of a shovel somewhere in the distance. "
    "Elias placed the watch on the counter and wound it slowly, seven turns, as his own teacher had shown "
    "him fifty years earlier. The second hand trembled, hesitated, and began to move.\n\n"
    "Notes for the workshop:\n"
    "1. Clean the train wheels before the escapement.\n"
    "2. Oil the pallet stones sparingly; too much oil attracts dust.\n"
    "3. Check the beat with the balance at rest.\n"
    "4. Record every repair in the ledger: date, owner, movement, parts, hours.\n\n"
    "def regulate(rate_seconds_per_day, beat_error_ms):\n"
    "    if abs(rate_seconds_per_day) > 10:\n"
    "        return 'adjust the regulator'\n"
    "    if beat_error_ms > 1.5:\n"
    "        return 'adjust the hairspring stud'\n"
    "    return 'within tolerance'\n\n"
    "Chapter Four.\n\nSpring came late that year. The river rose with the melting snow, and the children "
    "counted the days until the fair. Elias kept the photograph on the shelf above his bench, next to a "
    "jar of screws and a lamp with a green shade. Sometimes, late in the afternoon, he would look at it and "
    "wonder who the woman in the picture had been, and why she was smiling, and what she had been waiting "
    "for when the watch stopped. The answer, when it finally came, arrived in a letter with a foreign stamp "
    "and a return address written in careful, old-fashioned handwriting. The letter began with the words"
)

# name -> prompt; "{chat}" is replaced by the model's chat-templated prompt.
LOGIT_PROMPTS = [
    "The capital of France is",
    "Hello",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "{chat}",
    PARAGRAPH,
    "1, 2, 3, 4, 5,",
    "Translate to French: Good morning, how are you?",
    "Q: Why is the sky blue?\nA:",
    "你好，世界！今天",
    LONG,
]

GREEDY_PROMPTS = [
    "The capital of France is",
    "Once upon a time",
    "def add(a, b):",
    "The best way to learn a new language is",
    "Here is a list of fruits:",
    "In the year 2050, humans will",
    "The recipe for pancakes:",
    "import numpy as np\n",
    "The meaning of life is",
    "Water boils at",
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Ref:
    """llama.cpp through llama-cpp-python's low-level API: no Python sampler."""

    def __init__(self, path, threads, repack=False):
        # llama_model_params.use_extra_bufts (weight repacking into CPU_REPACK
        # buffers, e.g. q4_K -> q4_K_8x8) has no Llama() argument: patch the
        # defaults while the model loads.
        default = llama_cpp.llama_cpp.llama_model_default_params

        def params():
            p = default()
            p.use_extra_bufts = repack
            return p

        llama_cpp.llama_cpp.llama_model_default_params = params
        try:
            self.llm = Llama(model_path=path, n_ctx=N_CTX, n_batch=N_BATCH, n_ubatch=N_UBATCH,
                             n_threads=threads, n_threads_batch=threads, logits_all=False,
                             flash_attn=False, verbose=True)  # verbose=False segfaults in llama_decode (0.3.36)
        finally:
            llama_cpp.llama_cpp.llama_model_default_params = default
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.n_vocab = self.llm.n_vocab()

    def tokenize(self, text, add_special, parse_special):
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)

    def piece(self, tok):
        """llama_token_to_piece(special=false, lstrip=0)."""
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, False)
        assert n >= 0, (tok, n)
        return buf.raw[:n]

    def detokenize(self, ids):
        """llama_detokenize(remove_special=false, unparse_special=false)."""
        size = 64 + 64 * len(ids)
        buf = ctypes.create_string_buffer(size)
        arr = (llama_cpp.llama_token * max(1, len(ids)))(*ids)
        n = llama_cpp.llama_detokenize(self.vocab, arr, len(ids), buf, size, False, False)
        assert n >= 0, n
        return buf.raw[:n]

    def is_eog(self, tok):
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, tok))

    def logits(self, ids):
        """Resets the context, decodes ids (n_batch chunks) and returns the last position's logits."""
        self.llm.reset()
        self.llm.eval(ids)
        return self.last()

    def logits_seq(self, ids):
        """Like logits, but one token per llama_decode: every matmul takes
        ggml's vec_dot path (llamafile's tinyBLAS only serves batches of 2+)."""
        self.llm.reset()
        for t in ids:
            self.llm.eval([t])
        return self.last()

    def last(self):
        ptr = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float32).copy()

    def greedy(self, ids, n, stop_at_eog):
        """argmax decoding, one token per llama_decode; ties go to the lowest id.
        Returns the tokens and, for each, its logit's lead over the runner-up."""
        v = self.logits(ids)
        out, margins = [], []
        for _ in range(n):
            tok = int(np.argmax(v))
            if stop_at_eog and self.is_eog(tok):
                break
            out.append(tok)
            top2 = np.partition(v, -2)[-2:]
            margins.append(round(float(top2[1] - top2[0]), 4))
            if len(out) == n:
                break
            self.llm.eval([tok])
            v = self.last()
        return out, margins


def render_chat(ref, messages):
    """The model's chat template rendered like Hugging Face transformers does,
    or llama.cpp's built-in "gemma" template when a gemma3 file has none."""
    meta = ref.llm.metadata
    template = meta.get("tokenizer.chat_template")
    bos = token_text(ref, ref.llm.token_bos())
    eos = token_text(ref, ref.llm.token_eos())
    if template:
        def raise_exception(msg):
            raise ValueError(msg)
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        prompt = env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                                  bos_token=bos, eos_token=eos,
                                                  raise_exception=raise_exception)
        source = "gguf tokenizer.chat_template (jinja2 %s, trim_blocks, lstrip_blocks)" % jinja_version()
    else:
        arch = meta.get("general.architecture")
        assert arch == "gemma3", "no chat template and no built-in fallback chosen for " + arch
        msgs = (llama_cpp.llama_chat_message * len(messages))()
        keep = []
        for i, m in enumerate(messages):
            r, c = m["role"].encode(), m["content"].encode()
            keep += [r, c]
            msgs[i].role, msgs[i].content = r, c
        buf = ctypes.create_string_buffer(4096)
        n = llama_cpp.llama_chat_apply_template(b"gemma", msgs, len(messages), True, buf, len(buf))
        assert 0 <= n < len(buf), n
        prompt = buf.raw[:n].decode("utf-8")
        source = "llama.cpp built-in template \"gemma\" (llama_chat_apply_template); the GGUF has no tokenizer.chat_template"
    # llama-server strips a leading BOS text when the model adds BOS itself;
    # then it tokenizes with add_special=true, parse_special=true.
    text = prompt
    if llama_cpp.llama_vocab_get_add_bos(ref.vocab) and text.startswith(bos):
        text = text[len(bos):]
    return prompt, source, text


def token_text(ref, tok):
    return llama_cpp.llama_vocab_get_text(ref.vocab, tok).decode("utf-8")


def jinja_version():
    import jinja2
    return jinja2.__version__


def reference_info(threads):
    lib = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
    base = ctypes.CDLL(os.path.join(lib, "libggml-base.so"))
    base.ggml_version.restype = ctypes.c_char_p
    base.ggml_commit.restype = ctypes.c_char_p
    return {
        "implementation": "llama.cpp via llama-cpp-python (built from source, GGML_NATIVE=ON)",
        "llama_cpp_python": llama_cpp.__version__,
        "llama_version": llama_cpp.llama_version().decode(),
        "ggml_version": base.ggml_version().decode(),
        "ggml_commit": base.ggml_commit().decode(),
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "n_ctx": N_CTX, "n_batch": N_BATCH, "n_ubatch": N_UBATCH, "n_threads": threads,
        "flash_attn": False, "logits_all": False, "kv_cache_type": "f16",
        "use_extra_bufts": False,  # no weight repacking: ggml-cpu's plain vec_dot kernels
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("name")
    ap.add_argument("--logits", choices=["auto", "f32", "f16"], default="auto")
    args = ap.parse_args()
    path, name = args.model, args.name

    ref = Ref(path, N_THREADS)
    os.makedirs(OUT, exist_ok=True)
    strings = corpus.corpus()
    with open(os.path.join(OUT, "tokenizer_corpus.json"), "w", encoding="utf-8") as f:
        json.dump(strings, f, ensure_ascii=False, indent=0)
        f.write("\n")

    v = ref.vocab
    result = {
        "model": os.path.basename(path),
        "sha256": sha256(path),
        "size": os.path.getsize(path),
        "n_vocab": ref.n_vocab,
        "bos": ref.llm.token_bos(),
        "eos": ref.llm.token_eos(),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(v)),
        "eog": [i for i in range(ref.n_vocab) if ref.is_eog(i)],
        "reference": reference_info(N_THREADS),
        "command": "scripts/goldens/make_goldens.py %s %s --logits %s" % (os.path.basename(path), name, args.logits),
        "corpus": "tokenizer_corpus.json",
    }

    result["tokenizer"] = []
    for s in strings:
        plain = ref.tokenize(s, False, False)
        result["tokenizer"].append({
            "plain": plain,
            "special": ref.tokenize(s, True, True),
            "decoded": ref.detokenize(plain).decode("utf-8", "replace"),
        })

    chat_prompt, chat_source, chat_text = render_chat(ref, CHAT_MESSAGES)

    dtype = args.logits
    if dtype == "auto":
        dtype = "f32" if ref.n_vocab * len(LOGIT_PROMPTS) * 4 <= F32_LIMIT else "f16"
    vectors, seqs, entries = [], [], []
    cos, mad = 1.0, 0.0
    for p in LOGIT_PROMPTS:
        if p == "{chat}":
            p = chat_text
        ids = ref.tokenize(p, True, True)
        x = ref.logits(ids)
        y = ref.logits_seq(ids)
        vectors.append(x)
        seqs.append(y)
        top = np.argsort(-x, kind="stable")[:10]
        stop = np.argsort(-y, kind="stable")[:10]
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        cos = min(cos, float(x64 @ y64 / np.sqrt((x64 @ x64) * (y64 @ y64))))
        mad = max(mad, float(np.abs(x64 - y64).max()))
        entries.append({
            "prompt": p, "ids": ids, "argmax": int(np.argmax(x)),
            "top10": [[int(i), float(x[i])] for i in top],
            "sum": float(x64.sum()),
            "norm": float(np.sqrt((x64 ** 2).sum())),
            "seq_argmax": int(np.argmax(y)),
            "seq_top10": [[int(i), float(y[i])] for i in stop],
        })
    result["logits_file"] = name + ".logits." + dtype
    result["logits_seq_file"] = name + ".logits_seq." + dtype
    result["logits_dtype"] = dtype
    result["logits"] = entries
    result["reference"]["batch_vs_seq"] = {"worst_cosine": cos, "max_abs_logit_diff": mad}
    np_dtype = "<f4" if dtype == "f32" else "<f2"
    np.concatenate(vectors).astype(np_dtype).tofile(os.path.join(OUT, result["logits_file"]))
    np.concatenate(seqs).astype(np_dtype).tofile(os.path.join(OUT, result["logits_seq_file"]))

    result["greedy"] = []
    for p in GREEDY_PROMPTS:
        ids = ref.tokenize(p, True, True)
        gen, margins = ref.greedy(ids, N_GREEDY, False)
        result["greedy"].append({"prompt": p, "ids": ids, "generated": gen, "margins": margins})

    ids = ref.tokenize(chat_text, True, True)
    gen, margins = ref.greedy(ids, N_GREEDY, True)
    pieces = b"".join(ref.piece(t) for t in gen)
    result["chat"] = {
        "messages": CHAT_MESSAGES,
        "template": chat_source,
        "prompt": chat_prompt,
        "ids": ids,
        "generated": gen,
        "margins": margins,
        "finish_reason": "stop" if len(gen) < N_GREEDY else "length",
        "text": pieces.decode("utf-8", "replace"),
        "detokenized": ref.detokenize(gen).decode("utf-8", "replace"),
    }

    # Thread count must not change llama.cpp's results; check and record it.
    two = Ref(path, 2)
    diffs = [float(np.abs(two.logits(e["ids"]) - x).max()) for e, x in zip(entries[:3], vectors[:3])]
    g2, _ = two.greedy(result["greedy"][0]["ids"], N_GREEDY, False)
    result["reference"]["threads_1_vs_2"] = {
        "max_abs_logit_diff_first_3_prompts": max(diffs),
        "greedy_0_identical": g2 == result["greedy"][0]["generated"],
    }
    del two
    # How far llama.cpp's default CPU setup (weights repacked for the host's
    # SIMD kernels) is from the plain ggml kernels these goldens use.
    rep = Ref(path, N_THREADS, repack=True)
    cos, mad = 1.0, 0.0
    for e, x in zip(entries, vectors):
        y = rep.logits(e["ids"]).astype(np.float64)
        x = x.astype(np.float64)
        cos = min(cos, float(x @ y / np.sqrt((x @ x) * (y @ y))))
        mad = max(mad, float(np.abs(x - y).max()))
    same = sum(rep.greedy(e["ids"], N_GREEDY, False)[0] == e["generated"] for e in result["greedy"])
    result["reference"]["repack_on_vs_off"] = {
        "worst_cosine": cos, "max_abs_logit_diff": mad,
        "greedy_identical": "%d/%d" % (same, len(result["greedy"])),
    }

    with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(strings)} strings, {len(entries)} logit prompts ({dtype}), "
          f"{len(result['greedy'])} greedy prompts; threads 1 vs 2: {result['reference']['threads_1_vs_2']}; "
          f"repack on vs off: {result['reference']['repack_on_vs_off']}; "
          f"batch vs seq: {result['reference']['batch_vs_seq']}")
    print("chat:", repr(result["chat"]["text"]))


if __name__ == "__main__":
    main()
