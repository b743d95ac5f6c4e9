#!/usr/bin/env bash
# Runs fuzz targets one after another: `fuzz/run.sh SECONDS [TARGET...]` (no TARGET: all of
# them, as `cargo fuzz list` shows). Installs cargo-fuzz when it is missing, regenerates the
# seeds (fuzz/make-seeds.py), and keeps what each run finds in fuzz/corpus/<target>.
#
# Settings from the environment:
#   FUZZ_SANITIZER   none (default) or address. Our crates forbid unsafe code, so AddressSanitizer
#                    only watches the dependencies' unsafe code, at about half the speed; it
#                    needs nightly flags, which the stable toolchain accepts with RUSTC_BOOTSTRAP=1.
#   FUZZ_MAX_LEN     largest input libFuzzer builds, in bytes (default 65536).
#   FUZZ_TIMEOUT     seconds one input may take before it counts as a hang (default 10).
#   FUZZ_SHARED      directories of real files with index.json, for seeds (default: the
#                    bibliothecary corpus in ../shared/corpus when it exists).
#
# Each run's log is in fuzz/target/logs/<target>.log; one summary line per target goes to
# stdout and to fuzz/target/logs/summary.tsv. Exit status 1 when any target found a crash
# (the input is in fuzz/artifacts/<target>/; replay it with `cargo fuzz run TARGET FILE`).
set -euo pipefail

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$fuzz_dir")
cd "$fuzz_dir"

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
sanitizer=${FUZZ_SANITIZER:-none}
max_len=${FUZZ_MAX_LEN:-65536}
timeout=${FUZZ_TIMEOUT:-10}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: installing it from crates.io"
    cargo install cargo-fuzz --locked
fi
if [[ $sanitizer != none ]]; then
    export RUSTC_BOOTSTRAP=1
fi

shared_args=()
if [[ -n ${FUZZ_SHARED:-} ]]; then
    for dir in $FUZZ_SHARED; do shared_args+=(--shared "$dir"); done
else
    # The main checkout sits beside ../shared; a worktree under wt/ two levels down.
    for dir in "$repo/../shared/corpus" "$repo/../../shared/corpus"; do
        if [[ -d $dir ]]; then
            shared_args+=(--shared "$dir")
            break
        fi
    done
fi
python3 make-seeds.py --max-len "$max_len" "${shared_args[@]}"

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build --sanitizer "$sanitizer"

mkdir -p target/logs
summary=target/logs/summary.tsv
[[ -f $summary ]] || printf 'date\ttarget\tseconds\texecs\texecs_per_s\tcov\tft\tcorpus\tresult\n' >"$summary"

failed=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log=target/logs/$target.log
    echo "fuzzing $target for ${seconds}s (log: fuzz/$log)"
    status=0
    cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" "target/seeds/$target" -- \
        -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout" \
        -print_final_stats=1 >"$log" 2>&1 || status=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
    if [[ $status -eq 0 ]]; then
        result=ok
    else
        result="FAILED (exit $status): $(grep -m1 -E '^(==[0-9]+== ERROR|thread .* panicked|ALARM|SUMMARY)' "$log" || true)"
        failed=1
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$seconds" \
        "${execs:-?}" "${per_second:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$result" | tee -a "$summary"
done
exit "$failed"
