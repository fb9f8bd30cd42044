#!/usr/bin/env bash
# Makes each exercise's src/start.rs and src/solution.rs from the stage it is built on, so that an
# exercise cannot drift from its stage:
#
#   the stage's src/lib.rs, doc comments left out  --start.patch-->  src/start.rs
#   src/start.rs                                   --solution.patch-->  src/solution.rs
#
# The stage is the one source of truth for the pool. Each exercise keeps only what it changes, as
# two small patches in its folder: start.patch (the header, the stub and the `Exercise:` marks)
# and solution.patch (the reference change, marked `Solution:`; it is what
# `diff src/start.rs src/solution.rs` shows).
#
#   bash generate.sh                   rewrite every start.rs and solution.rs from the stages
#   bash generate.sh --check           write nothing; fail if a committed file differs from what
#                                      its stage and patches make, if a patch no longer applies,
#                                      or if a change in a solution is not marked (check.sh runs it)
#   bash generate.sh --update-patches  after editing start.rs or solution.rs by hand, record the
#                                      edits as the exercise's patches
#   bash generate.sh --base EXERCISE   print the base that EXERCISE's start.patch applies to
#
# A stage change usually needs only `bash generate.sh`, and a review of what it changed in the
# exercises. When a patch no longer applies, bring start.rs (or solution.rs) up to date by hand,
# using --base to see the stage as the exercise sees it, then run --update-patches. Never run
# --update-patches on files that missed a stage change: it records start.rs and solution.rs as
# they are, so the patch would undo the stage's change (its diff shows that as stage lines
# removed or rewritten away from any `Exercise:` mark).
#
# Needs only bash, awk, sed, diff and patch (all in Git for Windows' Git Bash too).
set -euo pipefail
cd "$(dirname "$0")"

for tool in awk cmp diff patch sed; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: generate.sh needs \`$tool\`, which is not installed (for \`patch\`: the" \
            "package is called patch on Debian, Ubuntu, Fedora and Homebrew)" >&2
        exit 1
    fi
done

# Which stage files each exercise is built on. Several files are joined in this order.
stage_files() {
    case $1 in
    ex1-bounded-02) echo 02-mutex-receiver-pool/src/lib.rs ;;
    ex2-high-water-03) echo 03-crossbeam-bounded/src/lib.rs 03-crossbeam-bounded/src/policies.rs ;;
    ex3-panic-handler-05) echo 05-panic-resilient/src/lib.rs ;;
    ex4-queue-time-05) echo 05-panic-resilient/src/lib.rs ;;
    *)
        echo "error: $1 is not an exercise; add it to stage_files in generate.sh" >&2
        return 1
        ;;
    esac
}

exercises() {
    local manifest
    for manifest in ex*/Cargo.toml; do
        echo "${manifest%/Cargo.toml}"
    done
}

# "stage 05", for messages.
stage_name() {
    local files
    files=$(stage_files "$1")
    echo "stage ${files:0:2}"
}

# Reads a file without carriage returns, so that a checkout with Windows line endings gives the
# same result.
read_lf() {
    tr -d '\r' <"$1"
}

# The stage as the exercise starts from it: its files joined, without `///` and `//!` doc lines
# (the stage keeps the documentation; the exercise keeps the code and its `//` comments), with
# runs of blank lines squeezed to one and leading blank lines dropped.
base() {
    local file
    for file in $(stage_files "$1"); do
        read_lf "../../$file" | awk '!/^[ \t]*\/\/[\/!]/'
        echo
    done | cat -s | sed '/./,$!d' | sed '${/^$/d;}'
}

# apply PATCH INPUT OUTPUT: applies PATCH to INPUT exactly (no fuzz), writing OUTPUT. When a hunk
# does not apply, prints it.
apply() {
    if ! read_lf "$1" | patch --silent --force --fuzz=0 --reject-file="$3.rej" -o "$3" "$2" \
        >/dev/null 2>&1; then
        echo "The hunks of $1 that no longer apply:" >&2
        cat "$3.rej" >&2 || true
        return 1
    fi
}

# Every change from start.rs to solution.rs must be marked: each hunk of their diff removes an
# `// Exercise:` line and adds a `// Solution:` line. Hunks that touch only `use` lines (the
# compiler asks for those) or the `//!` header are exempt.
check_marks() {
    local exercise=$1 start=$2 solution=$3
    if ! grep -q '// Exercise:' "$start"; then
        echo "error: $exercise's start.rs marks no place to change with \`// Exercise:\`" >&2
        return 1
    fi
    if grep -q '// Exercise:' "$solution"; then
        echo "error: $exercise's solution.rs still has an \`// Exercise:\` mark" >&2
        return 1
    fi
    # (diff exits with 1 when the files differ, which they always do.)
    { diff -u "$start" "$solution" || true; } | awk -v exercise="$exercise" '
        function finish() {
            if (hunk != "" && touched && !(exercise_mark && solution_mark)) {
                printf "error: a change in %s is not marked (each hunk of diff start.rs " \
                    "solution.rs needs a removed `// Exercise:` line and an added " \
                    "`// Solution:` line): %s\n", exercise, hunk > "/dev/stderr"
                failed = 1
            }
        }
        /^@@/ { finish(); hunk = $0; touched = exercise_mark = solution_mark = 0; next }
        hunk == "" { next }
        /^[-+]/ {
            if (/^-.*\/\/ Exercise:/) exercise_mark = 1
            if (/^\+.*\/\/ Solution:/) solution_mark = 1
            if (!/^[-+][ \t]*(\/\/!|use |$)/) touched = 1
        }
        END { finish(); exit failed }'
}

# build EXERCISE DIR: writes DIR/start.rs and DIR/solution.rs from the stage and the patches.
build() {
    local exercise=$1 dir=$2
    base "$exercise" >"$dir/base.rs"
    if ! apply "$exercise/start.patch" "$dir/base.rs" "$dir/start.rs"; then
        echo "error: $exercise/start.patch no longer applies to $(stage_name "$exercise")." \
            "Bring $exercise/src/start.rs up to date by hand (generate.sh --base $exercise" \
            "prints the stage as the exercise sees it), then run" \
            "generate.sh --update-patches." >&2
        return 1
    fi
    if ! apply "$exercise/solution.patch" "$dir/start.rs" "$dir/solution.rs"; then
        echo "error: $exercise/solution.patch no longer applies to the new start.rs. Bring" \
            "$exercise/src/solution.rs up to date by hand, then run" \
            "generate.sh --update-patches." >&2
        return 1
    fi
}

# record EXERCISE DIR: rewrites EXERCISE's patches from its committed start.rs and solution.rs.
record() {
    local exercise=$1 dir=$2 stage
    stage=$(stage_name "$exercise")
    base "$exercise" >"$dir/base.rs"
    read_lf "$exercise/src/start.rs" >"$dir/start.rs"
    read_lf "$exercise/src/solution.rs" >"$dir/solution.rs"
    {
        echo "How $exercise's src/start.rs differs from $stage ($(stage_files "$exercise"))"
        echo "with the doc comments left out. generate.sh applies this patch; after editing"
        echo "start.rs, run generate.sh --update-patches to rewrite it."
        echo
        diff -u --label "$stage" --label src/start.rs "$dir/base.rs" "$dir/start.rs" || true
    } >"$exercise/start.patch"
    {
        echo "How $exercise's src/solution.rs differs from src/start.rs: the reference solution."
        echo "generate.sh applies this patch; after editing solution.rs, run"
        echo "generate.sh --update-patches to rewrite it."
        echo
        diff -u --label src/start.rs --label src/solution.rs "$dir/start.rs" "$dir/solution.rs" ||
            true
    } >"$exercise/solution.patch"
    echo "recorded $exercise/start.patch and $exercise/solution.patch"
}

mode=${1:-write}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $mode in
--base)
    base "${2:?usage: generate.sh --base EXERCISE}"
    exit
    ;;
--update-patches)
    for exercise in $(exercises); do
        mkdir "$tmp/$exercise"
        record "$exercise" "$tmp/$exercise"
    done
    exit
    ;;
write | --check) ;;
*)
    echo "usage: generate.sh [--check | --update-patches | --base EXERCISE]" >&2
    exit 2
    ;;
esac

failed=0
for exercise in $(exercises); do
    mkdir "$tmp/$exercise"
    if ! build "$exercise" "$tmp/$exercise"; then
        failed=1
        continue
    fi
    check_marks "$exercise" "$tmp/$exercise/start.rs" "$tmp/$exercise/solution.rs" || failed=1
    for file in start solution; do
        generated=$tmp/$exercise/$file.rs
        committed=$exercise/src/$file.rs
        if read_lf "$committed" | cmp -s - "$generated"; then
            continue
        fi
        if [[ $mode == --check ]]; then
            echo "error: $committed differs from what $(stage_name "$exercise") and" \
                "$exercise's patches generate; run docs/workshop/generate.sh and review" >&2
            read_lf "$committed" | diff -u --label "$committed (committed)" \
                --label "$committed (generated)" - "$generated" | head -n 40 >&2 || true
            failed=1
        else
            cp "$generated" "$committed"
            echo "updated $committed"
        fi
    done
done
if ((failed)); then
    exit 1
fi
if [[ $mode == --check ]]; then
    echo "every exercise is what its stage and its patches generate"
fi
