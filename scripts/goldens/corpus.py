"""The tokenizer corpus: > 400 strings covering what tokenizers get wrong."""

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello world",
    "Hello, world!",
    "The capital of France is Paris.",
    "In 1492, Columbus sailed the ocean blue.",
    "It was the best of times, it was the worst of times.",
    "Machine learning models are trained on large datasets.",
    "She said, \"I'll be there at 5 o'clock.\"",
    "They're going to the store; we'll meet them later.",
    "I can't believe it's not butter!",
    "HELLO WORLD IN CAPITALS",
    "MiXeD CaSe TeXt",
    "What's up? Nothing much. You've got mail! I'm fine. He'd go. She'll come. IT'S LOUD. WE'RE HERE.",
    "Don't stop believing.",
    "e.g. i.e. etc. Mr. Mrs. Dr. St.",
    "A sentence with    multiple   spaces.",
    "Once upon a time, in a land far, far away, there lived a king who had three daughters.",
    "To be, or not to be, that is the question.",
    "The mitochondria is the powerhouse of the cell.",
    "Photosynthesis converts light energy into chemical energy.",
]

CODE = [
    "def hello():\n    print(\"Hello, world!\")\n",
    "for i in range(10):\n\tprint(i)",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)",
    "func main() {\n\tfmt.Println(\"hi\")\n}",
    "package main\n\nimport \"fmt\"",
    "if err != nil {\n\treturn fmt.Errorf(\"open %s: %w\", path, err)\n}",
    "const x = (a, b) => a + b;",
    "console.log(`template ${value}`);",
    "let arr = [1, 2, 3].map(x => x * 2);",
    "{\"name\": \"Realm\", \"version\": 1, \"tags\": [\"a\", \"b\"]}",
    "{\n  \"key\": null,\n  \"nested\": {\"t\": true}\n}",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "<div id='main'>&nbsp;&amp;&lt;&gt;</div>",
    "SELECT * FROM users WHERE id = 42;",
    "#include <stdio.h>\nint main(void) { return 0; }",
    "x += 1; y -= 2; z *= 3; w /= 4;",
    "a == b && c != d || e <= f",
    "// comment\n/* block */\n# hash",
    "    indented four\n        indented eight",
    "print(f\"{x!r:>10}\")",
]

NUMBERS = [
    "1", "12", "123", "1234", "12345", "1234567", "1234567890", "3.14", "3.14159265358979",
    "1e10", "-42", "+7", "0.001", "1,000,000", "2024-01-15", "12:34:56", "$100.00", "50%",
    "10x", "v1.2.3", "0x1F", "007", "1/2", "3rd", "21st century", "Call 555-1234.",
    "π ≈ 3.14159", "2^10 = 1024", "100°C", "9.99€", "11/29/2026", "29.11.2026", "2026年11月29日",
    "-0.5", "1e-5", "6.022e23", "0", "00", "000000", "99999999999999999999", "1 2 3 4 5", "123abc456",
]

EMOJI = [
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵🇺🇸", "❤️", "🔥🔥🔥", "I love 🍕 and 🍣!",
    "🏳️‍🌈", "👩🏿‍💻", "✨ sparkle ✨", "😂😂", "🙂 ok", "🤖 robot", "⚡️",
]

SCRIPTS = [
    "你好，世界", "我爱北京天安门", "日本語のテキスト", "こんにちは", "カタカナ", "ひらがな",
    "안녕하세요", "한국어 텍스트", "مرحبا بالعالم", "السلام عليكم", "नमस्ते दुनिया", "हिन्दी",
    "Привет, мир!", "Здравствуйте", "Γειά σου Κόσμε", "שלום עולם", "สวัสดีครับ", "Xin chào",
    "中文 English 混合", "東京タワー Tokyo Tower",
]

ACCENTS = [
    "café", "naïve", "résumé", "jalapeño", "Zürich", "São Paulo", "Ångström", "façade",
    "crème brûlée", "über", "señor", "Øresund", "Dvořák", "Łódź", "e\u0301 combining",
    "n\u0303 tilde", "ﬁ ligature", "Straße", "İstanbul", "ǅ titlecase",
]

SPECIAL_LOOKALIKES = [
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<start_of_turn>", "<end_of_turn>",
    "<bos>", "<eos>", "<s>", "</s>", "<unk>", "<pad>", "<0x41>", "<|im_start|>user\nHi<|im_end|>",
    "<start_of_turn>user\nHello<end_of_turn>", "text <s> inside", "[INST] hi [/INST]",
    "<|begin_of_text|>", "<|eot_id|>", "<<SYS>>", "<|user|>", "<0xFF>", "<0x0A>", "<mask>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n", "<end_of_turn><eos>",
    "a<|endoftext|>b", " <bos> spaced ", "<|im_end|><|im_end|>", "<start_of_image>", "<|im_start",
    "<|IM_START|>",
]

ODD = [
    "\u200b", "zero\u200bwidth", "\ufeffBOM", "\x00", "a\x00b", "\x01\x02\x7f", "\u0301", "\u00ad soft hyphen",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀀𠀁", "\U0001F600\U0001F3FB", "Ⅻ ① ½ ²", "™ © ®", "←↑→↓", "∑∫√∞", "\u2028line sep",
    "ﾊﾝｶｸ half-width", "ＦＵＬＬ　ｗｉｄｔｈ", "\\n literal backslash-n", "\\u00e9 escaped",
]

MORE_CODE = [
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>T</title></head>\n</html>",
    "<script>if (a < b && c > d) { alert('x'); }</script>",
    "[{\"id\":1,\"ok\":true,\"v\":1.5e-3},{\"id\":2,\"ok\":false,\"v\":null}]",
    "class Foo:\n    def __init__(self, x: int = 0) -> None:\n        self.x = x\n",
    "async function f() {\n  const r = await fetch('/api?q=1&n=2');\n  return r.json();\n}",
    "type T struct {\n\tName string `json:\"name\"`\n}",
    "lambda x: x if x > 0 else -x",
    "$ ls -la | grep .go && echo \"done\"",
    "https://example.com/path?query=1&b=two#frag",
    "user@example.com",
]

PUNCT = [
    "!!!", "???", "...", "—", "–", "--", "***", "###", "@@@", "~~~", "```", "'''", "\"\"\"",
    "(((", ")))", "[[]]", "{{}}", "<<>>", "!?!?", ";;", "::", ",,", "..", "''", "\\\\",
    "a-b_c.d/e\\f", "hello...world", "end.", "?!", "¡Hola!", "¿Qué?",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?", "....!!!!????", "-_-_-_-", "=====", "<<<>>>", "!!1!!one",
    ")(*&^%$#@!", "?.?.?.", "»«„“”‘’", "、。「」『』",
]


def whitespace():
    out = []
    for n in range(1, 21):
        out.append(" " * n)
    for n in range(1, 21):
        out.append("\n" * n)
        out.append("\t" * n)
    for n in (31, 32, 33, 40, 64):  # past Gemma's longest whitespace tokens (31)
        out += [" " * n, "\n" * n, "\t" * n, "x" + " " * n + "y"]
    for n in (2, 3, 5, 8, 13):
        out.append(" \t\n" * n)
        out.append("\n" + " " * n)
        out.append(" " * n + "\n")
        out.append("\t" * n + " " * n)
        out.append("a" + " " * n + "b" + "\n" * n + "c")
    out += [" \n", "\n ", " \n ", "\t \n", "\r\n", "\r\n\r\n", "a  b", "a   b", "a\n\nb", "a \n b",
            "  leading", "trailing  ", "  both  ", "\r", "\r\r\n", "\n\r", "\v\f", "\nnewline first", "newline last\n", "a\tb\tc",
            " Hello", "  Hello", "Hello ", "x  \n  y", "word\u00a0nbsp", "\u3000ideographic space"]
    return out


def long_strings():
    para = ("Realm runs language models locally. It reads GGUF files, tokenizes text, and "
            "generates tokens one at a time. ")
    lorem = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
             "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris. ")
    mixed = ("Realm 的目标是在本地运行模型。 Ça marche très bien! Модель читает файлы GGUF. "
             "모델은 토큰을 생성합니다. 🚀🔥 def f(x): return x**2  # ok\n\t\t12,345.67 -- 'quoted' \"double\"\n")
    return [para * 8, lorem * 10, mixed * 12, "word " * 200, "🙂" * 60 + " end", ("abc123 " * 100).strip(),
            "The " + "very " * 150 + "end."]


def corpus():
    items = ["", " ", "a", "A", "ab", "abc", "I", "the", " the", "The"]
    items += PROSE + CODE + MORE_CODE + ODD + NUMBERS + EMOJI + SCRIPTS + ACCENTS + SPECIAL_LOOKALIKES + PUNCT
    items += whitespace() + long_strings()
    # Word/number/space combinations.
    for w in ["hello", "Hello", "HELLO", "world", "don't", "it's", "123", "3.5", "café", "你好"]:
        items += [w, " " + w, w + " ", "  " + w, w + "\n"]
    # Contractions in context.
    for c in ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE"]:
        items.append("word" + c)
        items.append("word" + c + " more")
    seen, out = set(), []
    for s in items:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out
