#!/usr/bin/env bash
# Sets up (or refreshes) the project's virtual environment on a machine without a ROS install:
# ROS 2 wheels from PyPI, the runtime (and optionally training/test) dependencies, the
# package's messages built with cmake into the environment, the package installed in editable
# mode, and the pose-model bundles. Safe to re-run: every step is skipped when its inputs are
# unchanged since the last successful run.
#
#   tools/setup_venv.sh [--train] [--eval] [--test] [--video]
#
# --test also installs the real ROS 2 launch / command-line tools (`ros2 launch`, `ros2 param`,
# ...) from ../shared/ros2_launch when that folder exists, for the launch tests only (they are
# skipped, saying why, without it): no package registry carries them.
#
# Environment: VENV (default .venv), PYTHON (default: newest python3.1[0-2] found),
# ACT_ROS_LAUNCH_TOOLS (the folder of those tools; default ../shared/ros2_launch).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
EXTRAS=()
WITH_LAUNCH_TOOLS=0
for arg in "$@"; do
  case "$arg" in
    --train) EXTRAS+=(train) ;;
    --test) EXTRAS+=(test); WITH_LAUNCH_TOOLS=1 ;;
    --eval) EXTRAS+=(eval) ;;
    --video) EXTRAS+=(video) ;;
    *) echo "usage: $0 [--train] [--eval] [--test] [--video]" >&2; exit 2 ;;
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

# The installed share/act_ros (launch files, config, the Fast DDS profile) and lib/act_ros (the
# ros2 run executables) follow the source tree, like the editable package: `ros2 launch` runs the
# files as edited. Pairs of installed path : source path.
# Files, not folders: `ros2 launch` finds launch files with os.walk, which skips linked folders.
[ -L "$VENV/share/act_ros/launch" ] && rm "$VENV/share/act_ros/launch"
mkdir -p "$VENV/share/act_ros/launch"
for pair in lib/act_ros/pose_node:scripts/pose_node lib/act_ros/act_node:scripts/act_node \
    share/act_ros/config/fastdds_profile.xml:act_ros/fastdds_profile.xml \
    $(cd "$ROOT" && for f in config/*.yaml launch/*.launch.py; do echo "share/act_ros/$f:$f"; done); do
  dest="$VENV/${pair%%:*}"; src="$ROOT/${pair#*:}"
  if [ -e "$src" ] && [ -d "$(dirname "$dest")" ] && [ "$(readlink "$dest" 2>/dev/null)" != "$src" ]; then
    rm -rf "$dest" && ln -s "$src" "$dest"
  fi
done

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
  "$PY" -m act_ros.pose.models_cli --ensure
fi

# --- 6. The real ROS 2 launch / CLI tools, for the launch tests (--test only) ----------------
# Pure-Python wheels built from pinned upstream commits plus composition_interfaces (a service
# package launch_ros imports, built with cmake like our messages). Each file is checked against
# the folder's MANIFEST.tsv and against this repository's pins before anything is installed.
if [ "$WITH_LAUNCH_TOOLS" = 1 ]; then
  TOOLS="${ACT_ROS_LAUNCH_TOOLS:-}"
  if [ -z "$TOOLS" ]; then  # the project's sibling folder (or two levels up, from a worktree)
    TOOLS="$ROOT/../shared/ros2_launch"
    [ -d "$TOOLS" ] || [ ! -d "$ROOT/../../shared/ros2_launch" ] || TOOLS="$ROOT/../../shared/ros2_launch"
  fi
  PINS="$ROOT/requirements/ros2_launch.sha256"
  if [ ! -d "$TOOLS" ]; then
    log "no $TOOLS: the launch tests will be skipped (ros2 launch is not on any package registry)"
  else
    TOOLS="$(cd "$TOOLS" && pwd)"
    key="$(hash_of "$PINS" "$ROOT/requirements/ros2_launch.txt" "$ROOT/tools/cmake/pypi_wheel_fixups.cmake")"
    if ! stamp_ok launch_tools "$key" || ! "$VENV/bin/ros2" --help >/dev/null 2>&1; then
      log "installing the real ros2 launch / CLI tools from $TOOLS"
      start=$(date +%s)
      # The MANIFEST's sha256 must be the pinned one (a changed folder is reviewed, not trusted)...
      while IFS=$'\t' read -r artefact _ _ _ _ _ sha; do
        [ "$artefact" = artefact ] || [ "$sha" = - ] && continue
        grep -qx "$sha  $artefact" "$PINS" || {
          echo "error: $TOOLS/MANIFEST.tsv lists $artefact with sha256 $sha, which" \
               "requirements/ros2_launch.sha256 does not pin: review the new tools and update the pins" >&2
          exit 1; }
      done < "$TOOLS/MANIFEST.tsv"
      # ... and every file must have it.
      (cd "$TOOLS" && grep -v '^#' "$PINS" | sha256sum --check --strict --quiet) || {
        echo "error: files in $TOOLS do not match requirements/ros2_launch.sha256" >&2; exit 1; }
      wheels=(); while read -r _ file; do
        case "$file" in *.whl) wheels+=("$TOOLS/$file") ;; esac
      done < <(grep -v '^#' "$PINS")
      # --no-deps: the wheels name `launch` and `ament-index-python`, which on PyPI are unrelated
      # projects (the real ament_index_python is ros-ament-index-python, in ros2_launch.txt).
      "${PIP[@]}" install --no-deps "${wheels[@]}"
      "${PIP[@]}" install -r "$ROOT/requirements/ros2_launch.txt"
      "$TOOLS/composition_interfaces-2.2.0-src/build_into_venv.sh" "$VENV" \
        "$ROOT/tools/cmake/pypi_wheel_fixups.cmake"
      stamp_set launch_tools "$key"
      log "ros2 launch tools installed in $(( $(date +%s) - start )) s"
    fi
  fi
fi

log "ready: $VENV"
