"""Make llamacpp_<name>.json: llama.cpp's tokenizer behaviour on random text.

The goldens corpus (engine/testdata/goldens) covers ordinary text; these
files add seeded random strings that mix letters, digits, odd whitespace,
punctuation, emoji, combining marks, U+2581 and special-token texts, plus
llama_detokenize on random id sequences, the end-of-generation set and a
hash of every token's piece. Run with the reference venv of
scripts/goldens/README.md:

    /work/ref/venv/bin/python engine/tokenizer/testdata/make_llamacpp.py MODEL.gguf NAME
"""
import ctypes
import hashlib
import json
import os
import random
import sys

import llama_cpp

N_STRINGS = 600
N_SEQS = 300

ALPHABET = (list("aZzQé日ßж本語") + list("0123456789") + ["٣", "²"] + [" "] * 8 +
            ["\t", "\n", "\n", "\r", "\u00a0", "\u3000"] + list(".,!'\"-…¿()[]{}<>/\\:;") + ["'"] * 4 +
            list("$+€😀🎉`^|~") + ["\u0301", "\u093f"] +
            ["s", "t", "re", "ve", "ll", "d", "m", "S", "T", "the", " the", "ing", "<|im_start|>", "<|im_end|>",
             "<start_of_turn>", "<end_of_turn>", "</s>", "<eos>", "<bos>", "\n\n", "  ", "<pad>", "<unused3>", "▁"])


def main():
    path, name = sys.argv[1], sys.argv[2]
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n = llama_cpp.llama_vocab_n_tokens(vocab)
    rng = random.Random(20260101)

    encode = []
    for _ in range(N_STRINGS):
        s = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40)))
        b = s.encode("utf-8")
        encode.append({"s": s, "plain": llm.tokenize(b, add_bos=False, special=False),
                       "special": llm.tokenize(b, add_bos=True, special=True)})

    buf = ctypes.create_string_buffer(1 << 16)
    h = hashlib.sha256()
    for t in range(n):
        k = llama_cpp.llama_token_to_piece(vocab, t, buf, len(buf), 0, False)
        h.update(k.to_bytes(4, "little") + buf.raw[:k])

    decode = []
    for _ in range(N_SEQS):
        ids = [rng.randrange(n) if rng.random() < 0.5 else rng.randrange(min(n, 400))
               for _ in range(rng.randint(0, 12))]
        if ids and rng.random() < 0.3:
            ids[0] = llama_cpp.llama_vocab_bos(vocab)
        arr = (llama_cpp.llama_token * max(1, len(ids)))(*ids)
        k = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, len(buf), False, False)
        decode.append({"ids": ids, "hex": buf.raw[:k].hex()})

    out = {
        "model": os.path.basename(path),
        "llama_cpp_python": llama_cpp.__version__,
        "n_vocab": n,
        "bos": llama_cpp.llama_vocab_bos(vocab),
        "eos": llama_cpp.llama_vocab_eos(vocab),
        "eot": llama_cpp.llama_vocab_eot(vocab),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "eog": [t for t in range(n) if llama_cpp.llama_vocab_is_eog(vocab, t)],
        "control": sum(1 for t in range(n) if llama_cpp.llama_vocab_is_control(vocab, t)),
        "pieces_sha256": h.hexdigest(),
        "encode": encode,
        "decode": decode,
    }
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "llamacpp_" + name + ".json"), "w",
              encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
