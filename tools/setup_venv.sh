#!/usr/bin/env bash
# Sets up (or refreshes) the project's virtual environment on a machine without a ROS install:
# ROS 2 wheels from PyPI, the runtime (and optionally training/test) dependencies, the
# package's messages built with cmake into the environment, the package installed in editable
# mode, and the pose-model bundles. Safe to re-run: every step is skipped when its inputs are
# unchanged since the last successful run.
#
#   tools/setup_venv.sh [--train] [--eval] [--test]
#
# Environment: VENV (default .venv), PYTHON (default: newest python3.1[0-2] found).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
EXTRAS=()
for arg in "$@"; do
  case "$arg" in
    --train) EXTRAS+=(train) ;;
    --test) EXTRAS+=(test) ;;
    --eval) EXTRAS+=(eval) ;;
    *) echo "usage: $0 [--train] [--eval] [--test]" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
stamp_ok() { [ -f "$VENV/.act_ros_stamps/$1" ] && [ "$(cat "$VENV/.act_ros_stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$VENV/.act_ros_stamps" && echo "$2" > "$VENV/.act_ros_stamps/$1"; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# --- 1. Python and the virtual environment ---------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  if [ -z "${PYTHON:-}" ]; then
    # The ROS 2 wheels cover CPython 3.10-3.14, mediapipe and ai-edge-litert 3.10-3.12/3.13.
    for cand in python3.12 python3.11 python3.10 python3; do
      if command -v "$cand" >/dev/null && "$cand" -c \
        'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))'; then
        PYTHON="$cand"; break
      fi
    done
  fi
  [ -n "${PYTHON:-}" ] || { echo "error: need Python 3.10-3.12 (set PYTHON=...)" >&2; exit 1; }
  if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    log "installing python3-venv (Debian/Ubuntu)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv python3-dev
  fi
  log "creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)

for tool in cmake make g++; do
  command -v "$tool" >/dev/null || {
    log "installing build tools (cmake, g++) with apt"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq cmake g++ make
    break
  }
done

# --- 2. Dependencies ---------------------------------------------------------------------------
REQS=("$ROOT/requirements/ros.txt" "$ROOT/requirements/runtime.txt")
for extra in "${EXTRAS[@]}"; do REQS+=("$ROOT/requirements/$extra.txt"); done
key="$(hash_of "${REQS[@]}")"
if ! stamp_ok deps "$key"; then
  log "installing dependencies: ${REQS[*]##*/}"
  "${PIP[@]}" install --upgrade pip
  args=(); for r in "${REQS[@]}"; do args+=(-r "$r"); done
  "${PIP[@]}" install "${args[@]}"
  stamp_set deps "$key"
fi

# --- 3. Messages: the package's own CMakeLists.txt, built with cmake against the wheels ---------
# Installed into the venv prefix (libraries in lib/, so the wheels' loader finds them), with the
# Python half in its own folder: in site-packages it would shadow the editable source tree.
# act_ros/__init__.py extends its __path__ so both halves form one package.
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
IFACE_DIR="lib/act_ros_interfaces"
BUILD="$ROOT/build/venv-cmake"
key="$(hash_of "$ROOT"/msg/*.msg "$ROOT/CMakeLists.txt" "$ROOT/package.xml" \
  "$ROOT/tools/cmake/pypi_wheel_fixups.cmake")-$(basename "$VENV")"
if ! stamp_ok msgs "$key" || [ ! -d "$VENV/$IFACE_DIR/act_ros/msg" ]; then
  log "building messages with cmake"
  start=$(date +%s)
  mkdir -p "$BUILD"
  export AMENT_PREFIX_PATH="$VENV"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DCMAKE_INSTALL_PREFIX="$VENV" -DCMAKE_PREFIX_PATH="$VENV" \
    -DPython3_EXECUTABLE="$PY" -DPYTHON_INSTALL_DIR="$IFACE_DIR" \
    -DCMAKE_PROJECT_INCLUDE="$ROOT/tools/cmake/pypi_wheel_fixups.cmake" > "$BUILD/configure.log" 2>&1 \
    || { cat "$BUILD/configure.log"; exit 1; }
  cmake --build "$BUILD" -j"$(nproc)" > "$BUILD/build.log" 2>&1 || { tail -50 "$BUILD/build.log"; exit 1; }
  rm -rf "${VENV:?}/$IFACE_DIR"
  cmake --install "$BUILD" > "$BUILD/install.log" 2>&1 || { tail -50 "$BUILD/install.log"; exit 1; }
  # Only the generated half belongs here: the hand-written modules come from the source tree.
  find "$VENV/$IFACE_DIR/act_ros" -mindepth 1 -maxdepth 1 \
    ! -name msg ! -name '_act_ros_s*' ! -name 'act_ros_s__*' ! -name '__init__.py' -exec rm -rf {} +
  # rosidl also writes an act_ros egg-info: pip would take it for an older install of this
  # package and "uninstall" it (deleting the generated messages) in the editable step below.
  # pip's own metadata for act_ros comes from that step.
  rm -rf "$VENV/$IFACE_DIR"/act_ros-*.egg-info
  echo "$VENV/$IFACE_DIR" > "$SITE/act_ros_interfaces.pth"
  stamp_set msgs "$key"
  log "messages built in $(( $(date +%s) - start )) s"
fi

# --- 4. The package itself, editable ----------------------------------------------------------
# 'compat' mode puts the repository on sys.path with a .pth file; the default mode installs a
# meta-path finder that the generated act_ros/msg folder (step 4) would shadow.
# After the cmake install, which also installs the colcon-style bin/act-ros script: pip's
# console script (bound to this venv's python) must be the one that stays.
key="$(hash_of "$ROOT/setup.py")-$(cat "$VENV/.act_ros_stamps/msgs")"
if ! stamp_ok editable "$key" || ! "$VENV/bin/act-ros" --version >/dev/null 2>&1; then
  log "installing act_ros in editable mode"
  "${PIP[@]}" install --no-deps -e "$ROOT" --config-settings editable_mode=compat 2>/dev/null \
    || "${PIP[@]}" install --no-deps -e "$ROOT" --config-settings editable_mode=compat
  stamp_set editable "$key"
fi

# --- 5. Pose-model bundles (MediaPipe .task files built from registry model files) -----------
if [ -f "$ROOT/act_ros/pose/model_bundles.py" ]; then
  "$PY" -m act_ros.pose.model_bundles --ensure
fi

log "ready: $VENV"
