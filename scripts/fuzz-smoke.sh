#!/usr/bin/env bash
# Fuzz smoke test: run every cargo-fuzz target of gatepass for a bounded time.
#
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 30 (or $FUZZ_SECONDS); TARGETs default to every target in
# fuzz/fuzz_targets/. Needs the nightly toolchain and cargo-fuzz; without them it prints
# why it skips and exits 0, so CI can call it unconditionally. Set GATEPASS_FUZZ_INSTALL=1
# to install a missing cargo-fuzz (`cargo install cargo-fuzz --locked`) instead.
# FUZZ_SANITIZER (default: address) is passed to `cargo fuzz --sanitizer`.
#
# New inputs go to a scratch directory, never into the committed seeds of fuzz/corpus/.
# Exits 1 if any target crashes; the reproducer is in fuzz/artifacts/<target>/ (see
# fuzz/regressions/README.md for what to do with it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-30}}
if [[ $# -gt 0 ]]; then shift; fi
sanitizer=${FUZZ_SANITIZER:-address}

if ! [[ $seconds =~ ^[0-9]+$ ]] || [[ $seconds -eq 0 ]]; then
    echo "fuzz-smoke: SECONDS must be a positive integer, got '$seconds'" >&2
    exit 2
fi

skip() {
    echo "fuzz-smoke: SKIPPED: $1"
    exit 0
}

command -v cargo >/dev/null 2>&1 || skip "cargo is not installed"
cargo +nightly --version >/dev/null 2>&1 ||
    skip "the nightly toolchain is not installed (rustup toolchain install nightly)"
if ! cargo fuzz --version >/dev/null 2>&1; then
    if [[ ${GATEPASS_FUZZ_INSTALL:-0} == 1 ]]; then
        echo "fuzz-smoke: installing cargo-fuzz"
        cargo install cargo-fuzz --locked
    else
        skip "cargo-fuzz is not installed (cargo install cargo-fuzz --locked, or GATEPASS_FUZZ_INSTALL=1)"
    fi
fi

cd "$root/fuzz"
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    # Every [[bin]] of the fuzz crate but the seed corpus generator, which is no target.
    mapfile -t targets < <(cargo +nightly fuzz list | grep -vx generate_corpus)
fi

echo "fuzz-smoke: building ${#targets[@]} targets (sanitizer: $sanitizer)"
cargo +nightly fuzz build --sanitizer "$sanitizer"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    echo "fuzz-smoke: $target for ${seconds}s"
    status=0
    cargo +nightly fuzz run --sanitizer "$sanitizer" "$target" \
        "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -dict=jwt.dict -max_len=9000 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        echo "fuzz-smoke: $target FAILED (exit $status); last lines of its log:" >&2
        grep -E 'panicked|SUMMARY|Test unit written|^thread' "$log" >&2 || tail -20 "$log" >&2
    fi
    summary+=("$(printf '%-22s %-6s execs=%-10s exec/s=%-7s %s' \
        "$target" "$([[ $status -eq 0 ]] && echo ok || echo CRASH)" "${execs:-?}" "${rate:-?}" "${cov:-}")")
done

echo
echo "fuzz-smoke: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz-smoke: ${#failed[@]} target(s) crashed: ${failed[*]} (reproducers in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz-smoke: ${#targets[@]} passed, 0 failed"
