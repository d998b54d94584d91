#!/usr/bin/env bash
# Start the Python kernel that grades one submission, inside a sandbox.
#   usage: kernel.sh PYTHON CONNECTION_FILE      (argv of the gd-sandbox kernel spec)
# The kernel runs as an unprivileged user, with resource limits (prlimit), no network and no
# other IPC (bwrap), the course folder hidden except the Python environment and the helper
# package, and only a scratch copy of its working folder (and the socket folder) writable.
# Settings come from the environment that grading/sandbox.py sets: GD_SANDBOX_HIDE,
# GD_SANDBOX_SHOW, GD_SANDBOX_SCRATCH, GD_SANDBOX_UID, GD_SANDBOX_MEMORY, GD_SANDBOX_CPU,
# GD_SANDBOX_WALL, GD_SANDBOX_NPROC, GD_SANDBOX_FSIZE. When the kernel ends abnormally, a note saying how is written to
# GD_SANDBOX_NOTES/<student>--<assignment>.exit (or .wall), for the grading report.
set -euo pipefail
# nbclient interrupts a cell with SIGINT sent to this process group: bwrap must survive it
trap "" INT

python=$1
connection=$2
work=$PWD
uid=${GD_SANDBOX_UID:-64999}
notes=${GD_SANDBOX_NOTES:-$work}/$(basename "$(dirname "$work")")--$(basename "$work")
ipc_dir=$(dirname "$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ip"])' "$connection")")

# the kernel works in a scratch copy of its folder, mounted over it: the graded folder stays
# root's, so nothing the submission writes (links above all) is ever followed by the grader.
# One copy per submission, kept across kernel restarts; grading/sandbox.py deletes them all.
scratch=${GD_SANDBOX_SCRATCH:?}/$(basename "$(dirname "$work")")--$(basename "$work")
if [ ! -d "$scratch" ]; then
  mkdir -m 0700 "$scratch"
  cp -R --no-dereference --preserve=mode,timestamps "$work/." "$scratch/"
  chown -R "$uid:$uid" "$scratch"
fi
install -o "$uid" -m 0400 "$connection" "$scratch/.kernel-connection.json"

# the sandbox sees the machine read-only, with an empty /tmp and the course replaced by an
# empty folder; what it needs from there (Python, gdlib) and its own folder are put back
tmpfs_roots=(/tmp)
IFS=: read -r -a hidden <<< "${GD_SANDBOX_HIDE:-}"
for path in "${hidden[@]}"; do [ -n "$path" ] && tmpfs_roots+=("$path"); done

under_tmpfs() {  # is $1 strictly inside a folder this sandbox replaces with an empty one?
  local root
  for root in "${tmpfs_roots[@]}"; do case "$1" in "$root"/*) return 0 ;; esac; done
  return 1
}

# folders bwrap creates to hold a mount point are private to root: open them on the way down
traversable() {
  local path=$1 parents=()
  while [ "$path" != / ] && [ "$path" != . ]; do path=$(dirname "$path"); parents=("$path" "${parents[@]}"); done
  for path in "${parents[@]}"; do under_tmpfs "$path" && mounts+=(--perms 0755 --dir "$path"); done
  return 0
}

mounts=(--ro-bind / / --dev /dev --proc /proc --perms 1777 --tmpfs /tmp)
for path in "${hidden[@]}"; do [ -n "$path" ] && mounts+=(--perms 0755 --tmpfs "$path"); done
IFS=: read -r -a shown <<< "${GD_SANDBOX_SHOW:-}"
for path in "${shown[@]}"; do
  [ -n "$path" ] && under_tmpfs "$path" && traversable "$path" && mounts+=(--ro-bind "$path" "$path")
done
traversable "$work"; mounts+=(--bind "$scratch" "$work")
traversable "$ipc_dir"; mounts+=(--bind "$ipc_dir" "$ipc_dir")

prlimit --as="${GD_SANDBOX_MEMORY:-4294967296}" --cpu="${GD_SANDBOX_CPU:-600}" \
        --nproc="${GD_SANDBOX_NPROC:-64}" --fsize="${GD_SANDBOX_FSIZE:-104857600}" -- \
  bwrap "${mounts[@]}" --unshare-net --unshare-ipc --unshare-pid --unshare-uts --die-with-parent \
        --chdir "$work" --setenv HOME "$work" --setenv MPLCONFIGDIR "$work/.matplotlib" \
        --setenv MPLBACKEND Agg --setenv GD_SANDBOXED 1 --setenv PYTHONSAFEPATH 1 \
        --unsetenv JPY_PARENT_PID --unsetenv PYTHONPATH --unsetenv JUPYTER_PATH \
  setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --no-new-privs \
        "$python" -P -m ipykernel_launcher -f "$work/.kernel-connection.json" &
kernel=$!
# the cap on one submission's wall-clock time: past it the kernel is killed, and grading goes on
wall=${GD_SANDBOX_WALL:-600}
( sleep "$wall" && echo "wall-clock cap of ${wall} s" > "$notes.wall" && kill -KILL "$kernel" ) \
  </dev/null >/dev/null 2>&1 &
watchdog=$!
status=0
wait "$kernel" || status=$?
pkill -P "$watchdog" 2>/dev/null || true
kill "$watchdog" 2>/dev/null || true
[ "$status" -eq 0 ] || echo "$status" > "$notes.exit"
exit "$status"
