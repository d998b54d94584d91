#!/usr/bin/env bash
# Start the Python kernel that grades one submission, inside a sandbox.
#   usage: kernel.sh PYTHON CONNECTION_FILE      (argv of the gd-sandbox kernel spec)
# The sandbox is built from an allow-list: an empty root with only the system's /usr (and its
# /bin, /lib links), a few files of /etc, the Python environment and the helper package
# (GD_SANDBOX_SHOW), all read-only; a fresh copy of the submission's folder in a size-limited
# tmpfs and a private, size-limited /tmp as the only writable space; no network, no other IPC, a clean
# environment, an unprivileged uid (one per grading run) and resource limits (prlimit).
# Settings come from the environment that grading/sandbox.py sets (GD_SANDBOX_*). The submission
# has one wall-clock budget across every kernel started for it; how a kernel ended is noted in
# GD_SANDBOX_NOTES/<student>--<assignment>.{exit,wall}, for the grading report.
set -euo pipefail
# nbclient interrupts a cell with SIGINT sent to this process group: bwrap must survive it
trap "" INT

python=$1
connection=$2
work=$PWD
uid=${GD_SANDBOX_UID:?}
notes=${GD_SANDBOX_NOTES:?}/$(basename "$(dirname "$work")")--$(basename "$work")
# the kernel's sockets: a folder of its own (grading.sandbox.PrivateIpcKernelManager), writable
# by the kernel only until it has made them; nothing else is ever left there
read -r ipc_dir sockets <<< "$("$python" -c 'import json, os, sys; c = json.load(open(sys.argv[1])); ip = c["ip"]
print(os.path.dirname(ip), *(ip + "-" + str(c[k + "_port"]) for k in ("shell", "iopub", "stdin", "control", "hb")))' "$connection")"
case "$ipc_dir" in */ipc/kernel-*) ;; *) echo "kernel.sh: unexpected socket folder $ipc_dir" >&2; exit 1 ;; esac
find "$ipc_dir" -mindepth 1 -delete
chown "$uid:$uid" "$ipc_dir"
chmod 0700 "$ipc_dir"
seal_sockets() {  # once the kernel has made its sockets, it may create nothing more there
  local tries=0 socket
  for socket in $sockets; do
    while [ ! -S "$socket" ] && [ "$tries" -lt 1200 ]; do sleep 0.05; tries=$((tries + 1)); done
  done
  chown root:root "$ipc_dir" && chmod 0755 "$ipc_dir"
  find "$ipc_dir" -mindepth 1 ! -type s -delete
}

# one budget per submission: the seconds its kernels have lived, restarts and regrades included
used() {  # seconds used so far; a launcher that was killed before it could count still counts until now
  local total
  total=$(cat "$notes.used" 2>/dev/null || echo 0)
  [ -s "$notes.started" ] && total=$(( total + $(date +%s) - $(cat "$notes.started") ))
  echo "$total"
}
spent=$(used)
echo "$spent" > "$notes.used"
rm -f "$notes.started"
remaining=$(( ${GD_SANDBOX_WALL:?} - spent ))
if [ "$remaining" -le 0 ]; then
  echo "wall-clock budget of ${GD_SANDBOX_WALL} s" > "$notes.wall"
  exit 1
fi
date +%s > "$notes.started"

mounts=(--dev /dev --proc /proc --size "${GD_SANDBOX_SCRATCH_BYTES:?}" --perms 1777 --tmpfs /tmp)
made=(/ /tmp)
parents() {  # folders bwrap would create private to root on the way to $1: create them open
  local path=$1 chain=()
  while [ "$path" != / ]; do path=$(dirname "$path"); chain=("$path" "${chain[@]}"); done
  for path in "${chain[@]}"; do
    case " ${made[*]} " in *" $path "*) ;; *) mounts+=(--perms 0755 --dir "$path"); made+=("$path") ;; esac
  done
}
show() {  # bind $1 read-only at the same place, if the machine has it
  [ -e "$1" ] || return 0
  parents "$1"
  mounts+=(--ro-bind "$1" "$1")
  made+=("$1")
}
show /usr
for link in /bin /sbin /lib /lib64 /lib32 /libx32; do
  if [ -L "$link" ]; then mounts+=(--symlink "$(readlink "$link")" "$link"); else show "$link"; fi
done
# the dynamic linker's files, the time zone, and fontconfig's configuration (matplotlib runs fc-list
# once per kernel: without /etc/fonts it prints "Fontconfig error" under the setup cell) and cache
for file in /etc/ld.so.cache /etc/ld.so.conf /etc/ld.so.conf.d /etc/localtime /etc/alternatives /etc/fonts \
            /var/cache/fontconfig; do
  show "$file"
done
IFS=: read -r -a shown <<< "${GD_SANDBOX_SHOW:-}"
for path in "${shown[@]}"; do [ -n "$path" ] && show "$path"; done

# the submission as the grader holds it (read-only), copied into the kernel's own bounded space
mounts+=(--perms 0755 --dir /gd --ro-bind "$work" /gd/submission --ro-bind "$connection" /gd/connection.json)
parents "$work"
mounts+=(--size "$GD_SANDBOX_SCRATCH_BYTES" --perms 0700 --tmpfs "$work")
parents "$ipc_dir"
mounts+=(--bind "$ipc_dir" "$ipc_dir")

environment=(--clearenv --setenv PATH "$(dirname "$python"):/usr/bin:/bin" --setenv HOME "$work"
             --setenv USER grader --setenv LOGNAME grader --setenv LANG C.UTF-8 --setenv TMPDIR /tmp
             --setenv MPLBACKEND Agg --setenv MPLCONFIGDIR "$work/.matplotlib" --setenv PYTHONSAFEPATH 1
             --setenv OPENBLAS_NUM_THREADS 1 --setenv OMP_NUM_THREADS 1 --setenv MKL_NUM_THREADS 1
             --setenv GD_SANDBOXED 1)

# inside, still root: fill the scratch space, hand it to the sandbox user, drop every privilege;
# where the machine lets unprivileged users make namespaces, a last, unprivileged bwrap forbids
# the student's code to make any (GD_SANDBOX_NO_USERNS: grading/sandbox.py tried it)
no_userns=()
[ "${GD_SANDBOX_NO_USERNS:-0}" = 1 ] && no_userns=(/usr/bin/bwrap --unshare-user --disable-userns --dev-bind / / --)
start='work=$0 uid=$1; shift
cp -R --no-dereference --preserve=mode,timestamps /gd/submission/. "$work"/ &&
install -m 0400 /gd/connection.json "$work/.kernel-connection.json" && chown -R "$uid:$uid" "$work" && cd "$work" &&
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --no-new-privs \
  "$@" -P -m ipykernel_launcher -f "$work/.kernel-connection.json"'

# memory, processes and CPU bounded for the submission as a whole, where control groups allow
# (GD_SANDBOX_CGROUPS, from grading/sandbox.py); prlimit bounds every process in any case. The CPU
# quota (GD_SANDBOX_CPUS cores) keeps a submission graded beside others from starving them
groups=()
period=100000
case "${GD_SANDBOX_CGROUPS:-none}" in
  v1) groups=(/sys/fs/cgroup/memory/generalizing-gd/kernel-$$ /sys/fs/cgroup/pids/generalizing-gd/kernel-$$)
      mkdir -p "${groups[@]}"
      echo "$GD_SANDBOX_MEMORY" > "${groups[0]}/memory.limit_in_bytes"
      echo "$GD_SANDBOX_NPROC" > "${groups[1]}/pids.max"
      if [ -w /sys/fs/cgroup/cpu ]; then
        groups+=(/sys/fs/cgroup/cpu/generalizing-gd/kernel-$$)
        mkdir -p "${groups[2]}"
        echo "$period" > "${groups[2]}/cpu.cfs_period_us"
        echo $(( ${GD_SANDBOX_CPUS:-1} * period )) > "${groups[2]}/cpu.cfs_quota_us"
      fi ;;
  v2) groups=(/sys/fs/cgroup/generalizing-gd/kernel-$$)
      mkdir -p "${groups[0]}"
      echo "+memory +pids" > /sys/fs/cgroup/generalizing-gd/cgroup.subtree_control 2>/dev/null || true
      echo "+cpu" > /sys/fs/cgroup/generalizing-gd/cgroup.subtree_control 2>/dev/null || true
      echo "$GD_SANDBOX_MEMORY" > "${groups[0]}/memory.max"
      echo "$GD_SANDBOX_NPROC" > "${groups[0]}/pids.max"
      echo "$(( ${GD_SANDBOX_CPUS:-1} * period )) $period" > "${groups[0]}/cpu.max" 2>/dev/null || true ;;
esac

# what the kernel writes to its own stdout and stderr (a crash before ipykernel captures them)
# reaches the grader's log through a pipe, at most 64 KB, control characters shown as '?' (no
# terminal escape reaches whoever reads the log) and every line marked as the kernel's: the kernel
# holds no file of the grader's, so it can neither flood nor forge reports/nbgrader.log
bounded_output() { { head -c 65536; cat >/dev/null; } | LC_ALL=C tr '\000-\010\013-\037\177' '?' \
  | sed -u 's/^/  [kernel] /' >&2; }

(
  for group in "${groups[@]}"; do echo "$BASHPID" > "$group/cgroup.procs"; done
  exec prlimit --as="${GD_SANDBOX_MEMORY:?}" --cpu="${GD_SANDBOX_CPU:?}" \
          --nproc="${GD_SANDBOX_NPROC:?}" --fsize="${GD_SANDBOX_FSIZE:?}" -- \
    bwrap "${mounts[@]}" "${environment[@]}" --unshare-net --unshare-ipc --unshare-pid --unshare-uts \
          --die-with-parent --chdir / \
    /bin/sh -c "$start" "$work" "$uid" "${no_userns[@]}" "$python"
) </dev/null > >(bounded_output) 2>&1 &
kernel=$!
seal_sockets </dev/null >/dev/null 2>&1 &
# past the remaining budget the kernel is killed, and grading goes on
( sleep "$remaining" && echo "wall-clock budget of ${GD_SANDBOX_WALL} s" > "$notes.wall" && kill -KILL "$kernel" ) \
  </dev/null >/dev/null 2>&1 &
watchdog=$!
status=0
wait "$kernel" || status=$?
pkill -P "$watchdog" 2>/dev/null || true
kill "$watchdog" 2>/dev/null || true
used > "$notes.used.new" && mv "$notes.used.new" "$notes.used" && rm -f "$notes.started"
find "$ipc_dir" -mindepth 1 ! -type s -delete 2>/dev/null || true
for group in "${groups[@]}"; do rmdir "$group" 2>/dev/null || true; done
[ "$status" -eq 0 ] || echo "$status" > "$notes.exit"
exit "$status"
