#!/bin/sh
# Builds a Realm guest: guest/build.sh OUT.wasm SOURCE.c...
#
# The one place the guest compiler flags live: `make guest` and the Go test
# that checks engine/sandbox/default.wasm against its source both call it.
# Needs Debian's clang 14 and lld (apt-get install clang lld); clang's
# output is deterministic, so a fresh build is byte-identical.
#
#   -nostdlib -ffreestanding   no libc: guests import only module "realm"
#   -ffp-contract=off          no fused multiply-add (WebAssembly has none,
#                              and the Go sampler must match)
#   -mbulk-memory              struct copies become memory.copy, not memcpy
#   --stack-first, 16 KiB      a stack overflow traps instead of
#                              overwriting data; small idle memory
#   --strip-debug              no paths from this machine in the output
#   --no-entry                 a library (reactor): the host calls exports
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 OUT.wasm SOURCE.c..." >&2
	exit 2
fi
out=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
exec "${CLANG:-clang}" --target=wasm32 -nostdlib -ffreestanding -O2 -std=c11 \
	-Wall -Wextra -Werror -ffp-contract=off -mbulk-memory \
	-I"$here/include" \
	-Wl,--no-entry -Wl,--stack-first -Wl,-z,stack-size=16384 -Wl,--strip-debug \
	-o "$out" "$@"
