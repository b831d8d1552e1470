#!/usr/bin/env bash
# Regenerates the seed corpus: small shared objects (about 6 KiB each) from the unit tests'
# fixture source, plain / with RUNPATH / with RPATH, and a copy truncated to 4 KiB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../unit/signing/fixture_lib.c
out=$here/corpus
flags=(-shared -fPIC -O2 -s -Wl,-z,noseparate-code)
gcc "${flags[@]}" -o "$out/valid_plain.so" "$src"
gcc "${flags[@]}" -Wl,--enable-new-dtags -Wl,-rpath,'$ORIGIN/lib' -o "$out/refused_runpath.so" "$src"
gcc "${flags[@]}" -Wl,--disable-new-dtags -Wl,-rpath,'$ORIGIN/lib' -o "$out/refused_rpath.so" "$src"
head -c 4096 "$out/valid_plain.so" > "$out/truncated_4k.so"
