"""Random templates for the differential goldens of make_goldens.py.

Three generators, each seeded so the corpus is reproducible:
  expressions: one {{ }} (or a for loop) built from random atoms, operators,
               filters, tests and str/dict/list methods;
  statements:  nests of if/for/set/macro/raw/comments with random text and
               random whitespace control, to exercise trim_blocks and
               lstrip_blocks;
  chats:       the model templates over random conversations.
"""
import random

ATOMS = [
    "s", "n", "i", "f", "t", "l", "words", "d", "msgs", "u8", "nothing", "1", "0", "-3", "2.5", "'ab'", "''", "'A b'",
    "[1, 2]", "[]", "{'k': 1}", "none", "true", "false", "(1, 'x')", "msgs[0]", "msgs[1].content", "d.a", "l[0]", "s[1:]",
    "'  x  '", "' a\\nb '", "u8[2]", "range(3)", "[3, 'a']", "'%s'", "'{}'", "1e3", "0.1",
    "u8[::-1]", "l[::-2]", "s[-3:]", "'ß'", "'Ǆ'", "'ΣΑΣ'", "'\\t'", "'%d%%'", "'{0}{0}'", "(1,)", "{'b': [1], 'a': none}",
    "msgs|last", "tool", "tool.function.parameters", "'é😀'", "-0.0", "1e-5", "123456789.0", "1/3", "2**40", "'<&>'", "true + 1",
]
BINOPS = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">=", "in", "not in", "and", "or"]
FILTERS = [
    "length", "upper", "lower", "title", "capitalize", "trim", "list", "first", "last", "string", "int", "float", "abs",
    "round", "tojson", "join", "join(',')", "sort", "reverse|list", "unique|list", "sum", "min", "max", "default('D')",
    "default('D', true)", "e", "safe", "items|list", "dictsort", "map('string')|list", "select|list", "reject|list",
    "selectattr('role')|list", "map(attribute='role')|list", "batch(2)|list", "wordcount", "center(7)", "indent(2)",
    "replace('a', 'X')", "truncate(5)", "format(1)", "tojson(indent=1)", "count", "attr('role')",
    "tojson(sort_keys=true)", "tojson(separators=(',', ':'))", "sort(attribute='role')|list", "sort(reverse=true)",
    "map('length')|list", "select('odd')|list", "map('lower')|join('|')", "slice(2)|list", "batch(2, 0)|list",
    "unique(attribute='role')|list", "max(attribute='role')", "dictsort(by='value')", "sum(start=1)",
    "round(1)", "round(0, 'ceil')", "int(base=16)", "float(1.5)", "string|length", "indent(1, true)", "title|length",
]
METHODS = [
    ".upper()", ".lower()", ".strip()", ".split()", ".split(',')", ".title()", ".startswith('a')", ".endswith('b')",
    ".replace('a', 'b')", ".find('b')", ".count('a')", ".get('a')", ".items()|list", ".keys()|list", ".values()|list",
    ".capitalize()", ".lstrip('x')", ".format(1)", ".isdigit()", ".join(['x', 'y'])",
    ".rsplit(None, 1)", ".splitlines()", ".partition('a')", ".zfill(5)", ".center(6, '*')", ".rfind('a')", ".swapcase()",
    ".istitle()", ".isupper()", ".index(1)", ".removeprefix('a')", "[0]", "[1:]", "[::-1]", "['role']", ".role", "[-1]",
]
TESTS = [
    "defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "sequence", "iterable",
    "odd", "even", "divisibleby 2", "true", "false", "boolean", "lower", "upper", "eq 1", "gt 0", "in [1, 'ab']", "callable",
]


def expression(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.3:
        return rng.choice(ATOMS)
    if r < 0.5:
        return f"({expression(rng, depth + 1)} {rng.choice(BINOPS)} {expression(rng, depth + 1)})"
    if r < 0.7:
        return f"({expression(rng, depth + 1)})|{rng.choice(FILTERS)}"
    if r < 0.8:
        return f"({expression(rng, depth + 1)}){rng.choice(METHODS)}"
    if r < 0.9:
        return f"({expression(rng, depth + 1)} is {rng.choice(['', 'not '])}{rng.choice(TESTS)})"
    return f"({expression(rng, depth + 1)} if {expression(rng, depth + 1)} else {expression(rng, depth + 1)})"


def expressions(seed, count):
    rng = random.Random(seed)
    for _ in range(count):
        if rng.random() < 0.2:
            yield "{% for x in " + expression(rng, 1) + " %}[{{ x }}{{ loop.index }}]{% else %}E{% endfor %}"
        else:
            yield "{{ " + expression(rng) + " }}"


TEXTS = ["", " ", "  ", "\n", "\n\n", "  \n  ", "a", " b ", "\t", "x\n", "\n  y", "\u3000", " \u00a0", "\r\n", "c  \n"]
OUTPUTS = ["x", "loop.index", "s", "i + 1", "l|length", "ns.v", "m.role", "m['content']|trim", "'q'", "x ~ '-'", "loop.last", "nothing", "k"]
CONDITIONS = ["x > 1", "loop.first", "not loop.last", "s", "n", "m.role == 'user'", "x is odd", "ns.v", "i in l", "k == 'a'"]
LOOPS = ["x in l", "m in msgs", "k, v in d.items()", "x in l if x > 1", "c in s[:3]"]

# Variables the statement templates see besides the snippet variables, so
# that names used outside loops exist.
STATEMENT_VARS = {"x": 2, "k": "a", "v": 1, "m": {"role": "user", "content": " c "}, "loop": {"index": 9, "first": True, "last": False}}


def statements(seed, count):
    rng = random.Random(seed)

    def sign():
        return rng.choice(["", "-", "+"]) if rng.random() < 0.4 else ""

    def tag(inner):
        return "{%" + sign() + " " + inner + " " + sign() + "%}"

    def output(e):
        return "{{" + rng.choice(["", "-", "+"]) + " " + e + " " + rng.choice(["", "-"]) + "}}"

    def body(depth):
        out = []
        for _ in range(rng.randint(1, 4)):
            r = rng.random()
            out.append(rng.choice(TEXTS))
            if r < 0.3:
                out.append(output(rng.choice(OUTPUTS)))
            elif r < 0.45 and depth < 3:
                out.append(tag("if " + rng.choice(CONDITIONS)) + body(depth + 1))
                if rng.random() < 0.4:
                    out.append(tag("elif " + rng.choice(CONDITIONS)) + body(depth + 1))
                if rng.random() < 0.4:
                    out.append(tag("else") + body(depth + 1))
                out.append(tag("endif"))
            elif r < 0.6 and depth < 3:
                out.append(tag("for " + rng.choice(LOOPS)) + body(depth + 1))
                if rng.random() < 0.3:
                    out.append(tag("else") + body(depth + 1))
                out.append(tag("endfor"))
            elif r < 0.7:
                out.append(tag("set ns.v = " + rng.choice(OUTPUTS)))
            elif r < 0.75:
                out.append(tag("set y = " + rng.choice(OUTPUTS)) + output("y"))
            elif r < 0.8:
                out.append("{#" + sign() + " comment\n " + sign() + "#}")
            elif r < 0.85:
                out.append(tag("raw") + rng.choice(TEXTS) + "{{ raw }}" + rng.choice(TEXTS) + tag("endraw"))
            elif r < 0.9 and depth < 2:
                out.append(tag("macro mm(a)") + body(depth + 1) + tag("endmacro") + "{{ mm(1) }}")
            out.append(rng.choice(TEXTS))
        return "".join(out)

    for _ in range(count):
        yield "{% set ns = namespace(v=0) %}" + body(0) + rng.choice(["", "\n", "\n\n", " \n"])


CONTENTS = ["Hi", "", "  spaced  ", "line1\nline2", "ünïcödé 你好 🌍", "<think>x</think>ok", "{{ not a tag }}", "a'b\"c\\d",
            "\t\ttabs\n\n", "</s><|im_end|>", "Ǆ ß", None]


def chats(seed, count, templates, tool, tool_calls):
    """Yields (template name, variables) over random conversations."""
    rng = random.Random(seed)
    names = sorted(templates)
    for _ in range(count):
        name = rng.choice(names)
        roles = ["system"] if rng.random() < 0.5 else []
        for i in range(rng.randint(0, 6)):
            roles.append(rng.choice(["user", "assistant"]) if rng.random() < 0.3 else ["user", "assistant"][i % 2])
        if rng.random() < 0.1:
            roles.append("tool")
        messages = []
        for role in roles:
            m = {"role": role, "content": rng.choice(CONTENTS)}
            if role == "assistant" and rng.random() < 0.2:
                m["tool_calls"] = [rng.choice(tool_calls)]
            if role == "tool" and rng.random() < 0.5:
                m.update(tool_call_id="call_1", name="get_weather")
            messages.append(m)
        variables = {
            "messages": messages,
            "tools": rng.choice([None, [tool]]),
            "documents": None,
            "add_generation_prompt": rng.random() < 0.5,
            "bos_token": templates[name][1],
            "eos_token": templates[name][2],
        }
        if rng.random() < 0.3:
            variables["date_string"] = "02 Jan 2025"
        yield name, variables
