"""Copy chapters from course/ into the learner's workspace without touching their files.

Usage: python lab/sync_workspace.py COURSE_DIR WORKSPACE_DIR

Files the learner already has are never overwritten, so `git pull` and `make release`
can update course/ freely; only files that are new in course/ are added.
"""

import shutil
import sys
from pathlib import Path

IGNORED = {".ipynb_checkpoints", "__pycache__"}


def sync(course, workspace):
    """Copy every file of course/ that workspace/ lacks; return (added, kept) relative paths."""
    added, kept = [], []
    for source in sorted(course.rglob("*")):
        relative = source.relative_to(course)
        if source.is_dir() or IGNORED & set(relative.parts):
            continue
        target = workspace / relative
        if target.exists():
            kept.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        added.append(relative)
    return added, kept


def main(course, workspace):
    course, workspace = Path(course), Path(workspace)
    if not course.is_dir():
        sys.exit(f"error: {course}/ does not exist; run `make release` to generate it from solutions/.")
    added, kept = sync(course, workspace)
    for path in added:
        print(f"added {workspace / path}")
    print(f"workspace {workspace}/: {len(added)} new file(s) added, {len(kept)} of your file(s) left untouched")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
