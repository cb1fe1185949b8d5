#!/usr/bin/env bash
# The robot runtime on aarch64, emulated: a Debian bookworm arm64 root filesystem run through
# QEMU user-mode emulation (binfmt_misc), with requirements/runtime.txt (plus the eval and test
# extras the tests use) and the package (without its ROS parts) installed in it. Runs there:
#   1. the MediaPipe bundles built by the package's own code (`act-ros pose-models --ensure`),
#      compared with the pinned sha256 and with the host's build;
#   2. parity with the host on fixed inputs made on the host (tools/arm64_parity.py): the shipped
#      AcT models on 24 LZQ test windows (top class identical, probabilities within 1e-5) and
#      every registered pose backend on 4 frames (same people, keypoints within 1 px on
#      identical decoded frames);
#   3. `act-ros bench` with short settings, for the record (emulated speed says nothing about a
#      real ARM CPU);
#   4. the emulated core of the tests (`pytest --emulated`: the tests marked `emulated`, rule in
#      test/needs.py), every test left out counted and named by module;
# and resolves requirements/runtime.txt for aarch64 with Python 3.10 and 3.12 (ROS 2 Humble on
# Ubuntu 22.04, Jazzy on 24.04) from wheels only.
#
#   tools/arm64_check.sh [--fresh] [--tests core|all|none]
#     --fresh   delete the cache first (rootfs, venv, QEMU): what a CI machine starts with
#     --tests   core (default): the tests marked emulated (minutes); all: every ROS-free test but
#               the heavy ones (`pytest --emulated=all`, about an hour); none: no tests (the
#               reduced form: installation, bundles, parity, wheels, bench)
#
# Needs root (debootstrap, chroot, mounts, binfmt_misc) on a Debian/Ubuntu host with the host's
# virtual environment set up (`make setup`: the reference side of the parity check).
# Environment: ACT_ROS_SKIP_ARM64=1 skips everything (exit 0); ACT_ROS_ARM64_TESTS (core, all,
# none: as --tests); ACT_ROS_ARM64_BUDGET_S (default 1800): the tests, which run last, stop when
# the whole run reaches it and are reported INCOMPLETE (loudly, not a failure; a test that failed
# before still fails the check); ACT_ROS_ARM64_CACHE (default ~/.cache/act_ros/arm64);
# ARM64_MIRROR (default: the host's own Debian mirror); VENV (.venv).
# Cached, keyed by their inputs: QEMU (its version), the root filesystem (the code that builds
# it, suite, system packages) and the virtual environment inside it (the requirement files and
# the host's resolved versions). Everything else runs every time. Exit 1 when installation,
# tests, bundles, parity or the 3.10/3.12 resolution fail; the last line is a one-line summary.
set -Eeuo pipefail
# A command failing where no check expects it still ends with a FAIL line (not silently).
trap 'echo "arm64 check: FAIL (unexpected error at line $LINENO: $BASH_COMMAND)"' ERR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE=bookworm
ARCH=arm64
CPU=cortex-a76  # Raspberry Pi 5's core; QEMU 10 emulates /proc/cpuinfo for it (see qemu_setup)
# What a minimal robot image lacks for the runtime's wheels (found with ldd in this rootfs):
# cv2 needs libGL, libglib, libxcb; mediapipe's Tasks library needs libEGL and libGLESv2.
SYSTEM_PACKAGES="python3 python3-venv ca-certificates libgl1 libglib2.0-0 libxcb1 libegl1 libgles2"
# (Python, glibc of the Ubuntu release that ROS 2 uses with it) for the wheel resolution.
RESOLVE_TARGETS="3.10:35:Humble 3.12:39:Jazzy"
CACHE="${ACT_ROS_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/act_ros/arm64}"
ROOTFS="$CACHE/rootfs"
GUEST_VENV=/opt/act_ros
HOST_VENV="${VENV:-$ROOT/.venv}"
HOST_PY="$HOST_VENV/bin/python"
BINFMT=/proc/sys/fs/binfmt_misc
BINFMT_NAME=act_ros_aarch64
BUDGET="${ACT_ROS_ARM64_BUDGET_S:-1800}"
TESTS="${ACT_ROS_ARM64_TESTS:-core}"

if [ "${ACT_ROS_SKIP_ARM64:-0}" = 1 ]; then
  echo "arm64 check: skipped (ACT_ROS_SKIP_ARM64=1)"
  exit 0
fi
FRESH=0
usage() { sed -n '2,/^set -Eeuo/p' "$0" | sed '$d'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) FRESH=1 ;;
    --tests) [ $# -ge 2 ] || usage; TESTS=$2; shift ;;
    --tests=*) TESTS=${1#--tests=} ;;
    *) usage ;;
  esac
  shift
done
case "$TESTS" in core|all|none) ;; *) echo "--tests takes core, all or none, not '$TESTS'"; exit 2 ;; esac

log() { printf '\033[1m[arm64 %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "arm64 check: FAIL ($*)"; exit 1; }
hash_of() { sha256sum | cut -c1-16; }
declare -A SECONDS_OF=()
STATUS=()  # "name: result" parts of the summary line
timed() {  # timed NAME command...: runs it, records its seconds
  local name=$1 start=$SECONDS; shift
  "$@"
  SECONDS_OF[$name]=$(( SECONDS - start ))
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, binfmt_misc); run with sudo"
[ -x "$HOST_PY" ] || die "no host environment at $HOST_VENV: run 'make setup' first"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9  # one run at a time per cache
[ "$FRESH" = 1 ] && { log "--fresh: deleting $CACHE"; find "$CACHE" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +; }
mkdir -p "$CACHE/logs"
LOGS="$CACHE/logs"
TOTAL_START=$SECONDS

# --- host tools ----------------------------------------------------------------------------
apt_install() {  # apt_install CMD PACKAGE
  command -v "$1" >/dev/null && return
  log "installing $2 (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
apt_install debootstrap debootstrap
apt_install unshare util-linux

mirror() {
  if [ -n "${ARM64_MIRROR:-}" ]; then echo "$ARM64_MIRROR"; return; fi
  # The host's own Debian mirror for $SUITE (deb822 .sources, then one-line .list files).
  local uri
  uri=$(awk -v s="$SUITE" '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i==s){print u; exit}}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$uri" ] || uri=$(sed -E 's/\[[^]]*\]//' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        2>/dev/null | awk -v s="$SUITE" '$1=="deb" && $3==s {print $2; exit}')
  [ -n "$uri" ] || die "no Debian $SUITE mirror in the host's apt sources: set ARM64_MIRROR"
  echo "$uri"
}
MIRROR="$(mirror)"

# --- QEMU 10 (bookworm-backports) and its binfmt_misc entry -----------------------------------
# Bookworm's own QEMU 7.2 shows the guest the host's x86 /proc/cpuinfo, and the TFLite runtimes
# (ai-edge-litert, MediaPipe) crash right after reading it. QEMU 10 emulates an ARM cpuinfo for
# the CPU model chosen by QEMU_CPU. Only the static qemu-aarch64 is taken from the package, with
# a private apt state: nothing is installed on the host.
qemu_setup() {
  local dir="$CACHE/qemu" apt="$CACHE/apt"
  if [ ! -x "$dir/usr/bin/qemu-aarch64" ]; then
    log "fetching qemu-user from $SUITE-backports"
    rm -rf "$apt" "$dir" && mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$dir"
    echo "deb $MIRROR $SUITE-backports main" > "$apt/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "APT::Sandbox::User=root")
    apt-get "${opts[@]}" update -qq
    (cd "$apt" && apt-get "${opts[@]}" download -qq qemu-user)
    dpkg-deb --fsys-tarfile "$apt"/qemu-user_*.deb | tar -x -C "$dir" ./usr/bin/qemu-aarch64 \
      ./usr/libexec/qemu-binfmt/aarch64-binfmt-P ./usr/share/qemu/binfmt.d/qemu-aarch64.conf
    rm -rf "$apt"
  fi
  QEMU_VERSION="$("$dir/usr/bin/qemu-aarch64" --version | head -1)"
  # The -binfmt-P name makes QEMU expect binfmt's preserve-argv0 argument (flag P).
  local interp="$dir/usr/libexec/qemu-binfmt/aarch64-binfmt-P" conf
  conf="$dir/usr/share/qemu/binfmt.d/qemu-aarch64.conf"
  if [ ! -e "$BINFMT/register" ]; then
    mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null \
      || die "cannot mount binfmt_misc at $BINFMT (needs root on the host, or a privileged container)"
  fi
  if [ -e "$BINFMT/$BINFMT_NAME" ] && ! grep -qx "interpreter $interp" "$BINFMT/$BINFMT_NAME"; then
    echo -1 > "$BINFMT/$BINFMT_NAME"
  fi
  if [ ! -e "$BINFMT/$BINFMT_NAME" ]; then
    # Magic and mask as Debian's qemu-user-binfmt registers them; F: the kernel opens QEMU now,
    # so it needs not exist inside the root filesystem. The newest entry wins over any other.
    local magic mask
    magic=$(cut -d: -f5 "$conf"); mask=$(cut -d: -f6 "$conf")
    echo ":$BINFMT_NAME:M::$magic:$mask:$interp:OPF" > "$BINFMT/register" \
      || die "cannot register QEMU with binfmt_misc"
  fi
}

# guest [VAR=value ...] -- command...: runs a command in the root filesystem with a clean
# environment (the host's PIP_* and CA variables would leak in otherwise), below the host's
# priority, with /proc, /sys and /dev mounted in a private mount namespace (gone when it ends).
guest() {
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done; shift
  unshare --mount --propagation private -- /bin/bash -c '
    set -e; r=$1; shift
    mount -t proc proc "$r/proc"; mount --rbind /sys "$r/sys"; mount --rbind /dev "$r/dev"
    exec "$@"' _ "$ROOTFS" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH="$GUEST_VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin" QEMU_CPU="$CPU" \
    ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST PYTHONUNBUFFERED=1 "${vars[@]}" \
    /usr/bin/nice -n 10 /usr/sbin/chroot "$ROOTFS" "$@"
}

# --- the root filesystem ------------------------------------------------------------------------
build_rootfs() {
  rm -rf "$ROOTFS" "$ROOTFS.tmp"
  # In its own mount namespace: debootstrap's mounts inside the target never reach the host.
  unshare --mount --propagation private -- nice -n 10 debootstrap --arch="$ARCH" --variant=minbase \
    --include="${SYSTEM_PACKAGES// /,}" "$SUITE" "$ROOTFS.tmp" "$MIRROR" > "$LOGS/debootstrap.log" 2>&1 \
    || { tail -20 "$LOGS/debootstrap.log"; die "debootstrap failed (log: $LOGS/debootstrap.log)"; }
  rm -f "$ROOTFS.tmp"/var/cache/apt/archives/*.deb
  mv "$ROOTFS.tmp" "$ROOTFS"
}

# The host's CA bundle (with its extra certificates: a TLS-inspecting proxy, a company CA): with
# the rootfs's own, pip in the guest fails with CERTIFICATE_VERIFY_FAILED behind such a proxy.
# The PEM bundle is the same on every architecture, so the host's file is copied (running
# update-ca-certificates in the guest takes a minute emulated). Every run, never cached.
sync_host_config() {
  cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  local bundle=/etc/ssl/certs/ca-certificates.crt
  [ -s "$bundle" ] || die "no CA bundle at $bundle on the host (package ca-certificates)"
  cp -L "$bundle" "$ROOTFS$bundle"
}

# The runtime's versions as the host resolved them: both sides run the same releases, so parity
# compares machines, not versions (a pin without aarch64 wheels fails here, loudly).
host_constraints() {
  "$HOST_PY" -m pip --disable-pip-version-check freeze --exclude-editable 2>/dev/null \
    | grep -E '^[A-Za-z0-9_.-]+==[^ ;@]+$' | grep -viE '^(act[-_]ros|ros-)' || true
}

build_venv() {
  rm -rf "$ROOTFS$GUEST_VENV" "$ROOTFS/tmp/req" && mkdir -p "$ROOTFS/tmp/req"
  cp "$ROOT"/requirements/{runtime,eval,test}.txt "$ROOTFS/tmp/req/"
  host_constraints > "$ROOTFS/tmp/req/constraints.txt"
  # --no-compile: byte-compiling every installed module is minutes under emulation; Python
  # compiles what it imports on first use.
  guest -- /bin/sh -c "python3 -m venv $GUEST_VENV \
    && pip install -q --no-compile --disable-pip-version-check --upgrade pip setuptools wheel \
    && pip install -q --no-compile --disable-pip-version-check -c /tmp/req/constraints.txt \
         -r /tmp/req/runtime.txt -r /tmp/req/eval.txt -r /tmp/req/test.txt" > "$LOGS/pip.log" 2>&1 \
    || { tail -30 "$LOGS/pip.log"; die "installation failed: pip install -r requirements/runtime.txt on aarch64 (log: $LOGS/pip.log)"; }
}

# ensure_cached NAME KEY FUNCTION: runs FUNCTION unless NAME was built with KEY. The stamps
# live inside the rootfs, so they go when it goes.
ensure_cached() {
  local stamp="$ROOTFS/.act_ros_$1.key"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$2" ]; then
    log "$1: cached ($2)"; SECONDS_OF[$1]=0; STATUS+=("$1 cached"); return
  fi
  log "$1: building (key $2)"
  rm -f "$stamp"
  timed "$1" "$3"
  echo "$2" > "$stamp"
  STATUS+=("$1 built in ${SECONDS_OF[$1]}s")
}

# --- per run: the package, bundles, tests, parity, bench ------------------------------------
install_package() {
  rm -rf "$ROOTFS/src" "$ROOTFS/tmp/run" && mkdir -p "$ROOTFS/src" "$ROOTFS/tmp/run"
  # The working tree as git sees it (tracked and new files, not .venv or build output).
  (cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) | tar -xf - -C "$ROOTFS/src"
  # Without its ROS parts: no rclpy, no generated messages (the cmake build), no ROS wheels.
  guest -- /bin/sh -c "pip install -q --no-compile --disable-pip-version-check --no-deps \
      --no-build-isolation --force-reinstall /src \
    && cd /tmp && python -c 'import act_ros, cv2, numpy, mediapipe, ai_edge_litert.interpreter as l; \
print(\"act_ros\", act_ros.__version__, \"from\", act_ros.__file__)'" > "$LOGS/package.log" 2>&1 \
    || { tail -30 "$LOGS/package.log"; die "installation failed: the package or its imports (log: $LOGS/package.log)"; }
  grep -q "from $GUEST_VENV/" "$LOGS/package.log" || die "act_ros was not imported from the installed package"
  tail -1 "$LOGS/package.log"
}

build_bundles() {
  local models="$ROOTFS/root/.cache/act_ros/pose_models" host_models
  host_models="$("$HOST_PY" -c 'from act_ros.pose.model_bundles import default_cache_dir as d; print(d())')"
  rm -rf "$models" && mkdir -p "$models/downloads"
  # The npm tarball is an input (sha512-checked by the package's code); the building is not.
  cp "$host_models"/downloads/*.tgz "$models/downloads/" 2>/dev/null || true
  guest -- act-ros pose-models --ensure > "$LOGS/bundles.log" 2>&1 \
    || { tail -20 "$LOGS/bundles.log"; die "act-ros pose-models --ensure failed in the guest (log: $LOGS/bundles.log)"; }
  "$HOST_PY" "$ROOT/tools/arm64_parity.py" bundles "$models" --like "$host_models" | tee -a "$LOGS/bundles.log" \
    || BUNDLES_FAILED=1
}

run_tests() {
  if [ "$TESTS" = none ]; then
    TESTS_RC=0; TESTS_LINE="not run (--tests none)"; return
  fi
  # The tests run last and get what is left of the budget (30 s kept for the summary); one test
  # over 10 min emulated is out of place in the emulated core (test/needs.py). With less than
  # 2 min left (a slow empty-cache build) they are not started: INCOMPLETE, said loudly.
  local box=$(( BUDGET - (SECONDS - TOTAL_START) - 30 ))
  if [ "$box" -lt 120 ]; then
    TESTS_RC=0; TESTS_INCOMPLETE=1
    TESTS_LINE="INCOMPLETE: not run, $(( SECONDS - TOTAL_START ))s of the ${BUDGET}s budget went on the steps before"
    echo "arm64 tests: $TESTS_LINE"
    return
  fi
  mkdir -p "$ROOTFS/root/.cache/act_ros/test-footage"
  local footage="${ACT_ROS_TEST_FOOTAGE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/act_ros/test-footage}"
  cp "$footage"/* "$ROOTFS/root/.cache/act_ros/test-footage/" 2>/dev/null || true  # else fetched inside
  log "tests (--emulated=$TESTS) time box: ${box}s"
  set +e
  timeout --kill-after=30 "$box" /bin/bash -c "$(declare -f guest); $(declare -p ROOTFS GUEST_VENV CPU); \
    guest PYTHONDONTWRITEBYTECODE=1 -- /bin/sh -c 'cd /src && pytest --emulated=$TESTS -v \
      -p no:cacheprovider -o timeout=600 --durations=10'" > "$LOGS/tests.log" 2>&1
  TESTS_RC=$?
  set -e
  sed -n '/slowest .*durations/,$p' "$LOGS/tests.log"
  TESTS_LEFT="$(grep -m1 '^ros-free selection' "$LOGS/tests.log" | sed 's/^ros-free selection[^:]*: //' || true)"
  local passed failed
  # grep -c exits 1 when it counts 0 (set -e would end the script here, silently).
  passed=$(grep -c ' PASSED' "$LOGS/tests.log" || true)
  failed=$(grep -c ' FAILED\| ERROR' "$LOGS/tests.log" || true)
  if [ "$TESTS_RC" -eq 124 ] || [ "$TESTS_RC" -eq 137 ]; then
    # Incomplete is reported, not failed; a failure so far still fails the check.
    TESTS_RC=0; [ "$failed" -eq 0 ] || TESTS_RC=1
    TESTS_INCOMPLETE=1
    local selected
    selected=$(grep -m1 -oE 'collected [0-9]+ items / [0-9]+ deselected / [0-9]+ selected|[0-9]+ selected' \
      "$LOGS/tests.log" | grep -oE '[0-9]+ selected' | grep -oE '[0-9]+')
    TESTS_LINE="INCOMPLETE (time box ${box}s reached): $passed passed, $failed failed of ${selected:-?} selected"
    echo "arm64 tests: $TESTS_LINE"
  else
    TESTS_LINE="$(tail -1 "$LOGS/tests.log" | sed -E 's/=+//g; s/^ +| +$//g')"
    # pytest's own exit: 0 passed, 1 failed tests; anything else (usage, collection) fails too.
    [ "$TESTS_RC" -eq 0 ] || [ "$failed" -gt 0 ] || TESTS_LINE="pytest exit $TESTS_RC: $TESTS_LINE"
  fi
}

run_parity() {
  mkdir -p "$ROOTFS/tmp/run/parity"
  local dir="$ROOTFS/tmp/run/parity"
  "$HOST_PY" "$ROOT/tools/arm64_parity.py" inputs "$dir/inputs.npz"
  "$HOST_PY" "$ROOT/tools/arm64_parity.py" run "$dir/inputs.npz" "$dir/host.npz" > "$LOGS/parity_host.log" 2>&1 \
    || { tail -20 "$LOGS/parity_host.log"; die "parity: the host side failed (log: $LOGS/parity_host.log)"; }
  guest TQDM_MININTERVAL=30 -- python /src/tools/arm64_parity.py run /tmp/run/parity/inputs.npz \
      /tmp/run/parity/arm64.npz > "$LOGS/parity_arm64.log" 2>&1 \
    || { tail -20 "$LOGS/parity_arm64.log"; die "parity: the arm64 side failed (log: $LOGS/parity_arm64.log)"; }
  set +e
  "$HOST_PY" "$ROOT/tools/arm64_parity.py" compare "$dir/host.npz" "$dir/arm64.npz" | tee "$LOGS/parity.log"
  PARITY_RC=${PIPESTATUS[0]}
  set -e
  PARITY_LINE="$(grep -m1 '^parity summary:' "$LOGS/parity.log" | sed 's/^parity summary: //')"
}

run_bench() {
  guest -- /bin/sh -c 'm=$(python -c "from act_ros.runtime import MODELS_DIR; print(MODELS_DIR)"); \
    act-ros bench --models $(find "$m" -name "*.tflite" | sort) --threads 1 --batches 1 8 --runs 3 --warmup 1 \
      --peak-size 256 --peak-repeats 3' > "$LOGS/bench.log" 2>&1 \
    || { tail -20 "$LOGS/bench.log"; BENCH_FAILED=1; return; }
  cat "$LOGS/bench.log"
}

resolve_pythons() {
  RESOLVED=()
  local spec py glibc ros platforms tmp
  for spec in $RESOLVE_TARGETS; do
    IFS=: read -r py glibc ros <<< "$spec"
    # pip takes each platform tag literally: list every manylinux level up to the glibc.
    platforms=(--platform manylinux2014_aarch64)
    for ((g = 17; g <= glibc; g++)); do platforms+=(--platform "manylinux_2_${g}_aarch64"); done
    tmp="$(mktemp -d)"
    # No pip configuration at all (PIP_CONFIG_FILE=/dev/null, clean environment): only the
    # index a robot uses, not this machine's local wheel folders or constraints.
    if env -i PATH=/usr/bin:/bin HOME="$tmp" PIP_CONFIG_FILE=/dev/null "$HOST_PY" -m pip install \
        --disable-pip-version-check -q --dry-run --ignore-installed --only-binary=:all: \
        --target "$tmp/target" "${platforms[@]}" --python-version "$py" --implementation cp \
        --report "$tmp/report.json" -r "$ROOT/requirements/runtime.txt" > "$LOGS/resolve-$py.log" 2>&1; then
      "$HOST_PY" - "$tmp/report.json" "$py" "$ros" <<'EOF' | tee -a "$LOGS/resolve-$py.log"
import json, sys
report, py, ros = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
names = [i["download_info"]["url"].rsplit("/", 1)[-1] for i in report["install"]]
native = [n for n in names if not n.endswith("-none-any.whl")]
print(f"Python {py} ({ros}) aarch64: {len(names)} wheels resolved, {len(native)} native: "
      + ", ".join(n.split("-")[0] + " " + n.split("-")[1] for n in native))
EOF
      RESOLVED+=("py$py ok")
    else
      cat "$LOGS/resolve-$py.log"
      RESOLVED+=("py$py FAILED")
      RESOLVE_FAILED=1
    fi
    rm -rf "$tmp"
  done
}

# --- run ------------------------------------------------------------------------------------------
BUNDLES_FAILED=0; BENCH_FAILED=0; RESOLVE_FAILED=0; TESTS_LEFT=""; TESTS_INCOMPLETE=0
timed qemu qemu_setup
log "QEMU: $QEMU_VERSION (-cpu $CPU), mirror $MIRROR"
rootfs_key="$( { declare -f build_rootfs; echo "$SUITE $ARCH $SYSTEM_PACKAGES"; } | hash_of)"
ensure_cached rootfs "$rootfs_key" build_rootfs
# The guest must be what it claims: aarch64 through this QEMU (an ARM cpuinfo, not the host's).
guest -- /bin/sh -c 'uname -m; grep -m1 "CPU part" /proc/cpuinfo; ldd --version | head -1' > "$LOGS/guest.log" 2>&1 || true
grep -qx aarch64 "$LOGS/guest.log" && grep -q "CPU part" "$LOGS/guest.log" \
  || { cat "$LOGS/guest.log"; die "the root filesystem does not run as aarch64 through QEMU 10 (another binfmt entry? see $BINFMT)"; }
GLIBC="$(grep -o 'GLIBC [^)]*) [0-9.]*' "$LOGS/guest.log" | awk '{print $NF}')"
sync_host_config
venv_key="$( { declare -f build_venv; cat "$ROOT"/requirements/{runtime,eval,test}.txt; host_constraints; echo "$rootfs_key"; } | hash_of)"
ensure_cached venv "$venv_key" build_venv
GUEST_PY="$(guest -- python -c 'import platform; print(platform.python_version())')"
log "guest: Debian $SUITE $ARCH, Python $GUEST_PY, glibc $GLIBC"

# The checks that must pass first (installation, bundles, parity, wheels), then the long ones.
log "installing the package (no ROS parts)"; timed package install_package
log "building the MediaPipe bundles in the guest"; timed bundles build_bundles
log "parity with the host"; timed parity run_parity
log "aarch64 wheels for Python 3.10 / 3.12"; timed resolve resolve_pythons
log "act-ros bench (emulated: for the record, not a speed measurement)"; timed bench run_bench
log "the emulated core of the tests"; timed tests run_tests

TOTAL=$(( SECONDS - TOTAL_START ))
phases=""
for p in qemu rootfs venv package bundles parity resolve tests bench; do phases+=" $p ${SECONDS_OF[$p]:-0}s"; done
log "times:$phases (total ${TOTAL}s); logs in $LOGS"
failed=()
[ "$TESTS_RC" -eq 0 ] || failed+=("tests")
[ "$BUNDLES_FAILED" -eq 0 ] || failed+=("bundles")
[ "$PARITY_RC" -eq 0 ] || failed+=("parity")
[ "$RESOLVE_FAILED" -eq 0 ] || failed+=("py3.10/3.12 resolution")
[ "$BENCH_FAILED" -eq 0 ] || failed+=("bench")
verdict=PASS; [ "$TESTS_INCOMPLETE" = 0 ] || verdict="PASS, but tests INCOMPLETE (out of time)"
[ ${#failed[@]} -eq 0 ] || verdict="FAIL (${failed[*]})"
echo "arm64 check: $verdict in ${TOTAL}s | Debian $SUITE arm64, Python $GUEST_PY, glibc $GLIBC, $QEMU_VERSION" \
  "| tests (--emulated=$TESTS): $TESTS_LINE${TESTS_LEFT:+ [$TESTS_LEFT]} | parity: $PARITY_LINE | bundles: $([ "$BUNDLES_FAILED" = 0 ] && echo pinned || echo MISMATCH)" \
  "| ${RESOLVED[*]} | ${STATUS[*]}"
[ ${#failed[@]} -eq 0 ] || exit 1
