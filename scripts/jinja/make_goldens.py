#!/usr/bin/env python3
"""Render every test template over a corpus of conversations with Python's
jinja2, configured as Hugging Face transformers configures it, and write
engine/jinja/testdata/goldens.json for the Go renderer's byte-equality test.

Run from the repository root with any Python that has jinja2 (3.1.x):
    python3 scripts/jinja/make_goldens.py
"""
import json
import os
from datetime import datetime

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTDATA = os.path.join(ROOT, "engine", "jinja", "testdata")

TOKENS = {
    "smollm2": ("<|im_start|>", "<|im_end|>"),
    "gemma3": ("<bos>", "<eos>"),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "qwen2.5": ("", "<|im_end|>"),
    "mistral": ("<s>", "</s>"),
    "phi3": ("<s>", "<|endoftext|>"),
}


def hf_env():
    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def m(role, content):
    return {"content": content, "role": role}


CONVERSATIONS = [
    [m("user", "Hi!")],
    [m("user", "What is the capital of France?")],
    [m("system", "You are terse."), m("user", "Hello")],
    [m("system", "You are a pirate."), m("user", "Hi"), m("assistant", "Arr!"), m("user", "Where is the treasure?")],
    [m("user", "a"), m("assistant", "b"), m("user", "c"), m("assistant", "d"), m("user", "e")],
    [m("user", "  padded with spaces  \n\n")],
    [m("user", "Unicode: héllo wörld — 你好 🌍 👨‍👩‍👧")],
    [m("user", "")],
    [m("user", "Line one\nLine two\n\tTabbed")],
    [m("user", "Quotes ' \" and backslash \\ and {{ braces }} {% tags %}")],
    [m("user", "Tell me a story."), m("assistant", "Once upon a time...")],
    [m("system", "Sys"), m("user", "U1"), m("assistant", "A1"), m("user", "U2"), m("assistant", "A2")],
    [m("assistant", "I start?")],
    [m("user", "x"), m("user", "y")],
    [m("system", "Only a system message")],
]


def main():
    env = hf_env()
    cases = []
    tdir = os.path.join(TESTDATA, "templates")
    for name in sorted(TOKENS):
        with open(os.path.join(tdir, name + ".jinja"), encoding="utf-8") as f:
            src = f.read()
        tmpl = env.from_string(src)
        bos, eos = TOKENS[name]
        for i, conv in enumerate(CONVERSATIONS):
            for gen in (True, False):
                variables = {"messages": conv, "add_generation_prompt": gen, "bos_token": bos, "eos_token": eos}
                case = {"template": name, "conversation": i, "vars": variables}
                try:
                    case["output"] = tmpl.render(**variables)
                except TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    with open(os.path.join(TESTDATA, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/jinja/make_goldens.py", "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
