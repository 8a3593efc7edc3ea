#!/bin/sh
# SPDX-License-Identifier: MIT
# Every source file says its license (MIT, see LICENSE) in an SPDX line
# among its first three lines. Runs on the tracked files when git and the
# work tree are there (skipped in a tarball, which has no .git).
set -u
top="${top_srcdir:-.}"
echo "1..1"
if ! command -v git >/dev/null 2>&1 || ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    echo "ok 1 # SKIP not a git work tree"
    exit 0
fi
missing=$(git -C "$top" ls-files | grep -E '\.(c|h|sh|am|ac|mk|rs|in)$|^\.ci/run$' |
    grep -v '^fuzz/corpus/' | while read -r f; do
        head -n 3 "$top/$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"
    done)
if [ -z "$missing" ]; then
    echo "ok 1 - every source file has an SPDX line"
else
    echo "not ok 1 - files without an SPDX line:"
    echo "$missing" | sed 's/^/# /'
fi
exit 0
