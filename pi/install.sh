#!/usr/bin/env bash
# Install Greeter's camera producer on Raspberry Pi OS Bookworm (64-bit). Safe to run again: each step
# checks what is already there, the configuration file is never overwritten, and kvssink is rebuilt only
# when the pinned SDK release changes.
#
#   sudo ./install.sh              install or update, then start the service if the configuration is ready
#   sudo ./install.sh --no-start   install or update only
#   ./install.sh --dry-run         print what would be done, change nothing (no root needed)
#
# Steps: Debian packages -> service user -> kvssink (Kinesis Video Streams producer SDK, pinned release)
#        -> the Python service -> /etc/greeter -> systemd unit.
set -euo pipefail

# The Kinesis Video Streams C++ producer SDK release kvssink is built from. Change it deliberately: the
# build options below are documented for this release (see pi/README.md, "kvssink").
KVS_SDK_VERSION="${KVS_SDK_VERSION:-v3.4.1}"
# The commit that release tag named when this script was tested: a tag can be moved, a commit cannot. Building
# another release needs its commit too (git rev-parse <tag>^{commit} in a clone of the SDK).
KVS_SDK_COMMIT="${KVS_SDK_COMMIT:-8e59b313950d4dbb1ecfb88e2108df87e3331c4e}"
KVS_SDK_REPO="https://github.com/awslabs/amazon-kinesis-video-streams-producer-sdk-cpp.git"
# Two compile jobs: four run a 2 GB Pi 4 out of memory.
BUILD_JOBS="${BUILD_JOBS:-2}"

PREFIX=/opt/greeter
APP_DIR="$PREFIX/camera"
KVS_DIR="$PREFIX/kvs-sdk/$KVS_SDK_VERSION"
KVS_SRC="$PREFIX/src/amazon-kinesis-video-streams-producer-sdk-cpp-$KVS_SDK_VERSION"
CONFIG_DIR=/etc/greeter
SERVICE_USER=greeter-camera
UNIT=greeter-camera.service

RUNTIME_PACKAGES=(
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libcamera
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 python3-venv
  v4l-utils ca-certificates
)
# What the producer SDK's README lists for building kvssink against the system's libraries.
BUILD_PACKAGES=(
  git cmake m4 build-essential pkg-config
  libssl-dev libcurl4-openssl-dev liblog4cplus-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DRY_RUN=0
FORCE=0
START=1
DONE=()

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  echo
  echo "Options: --dry-run  --no-start  --force (install on something that is not Bookworm arm64)  --help"
  echo "Environment: KVS_SDK_VERSION=$KVS_SDK_VERSION  KVS_SDK_COMMIT=$KVS_SDK_COMMIT  BUILD_JOBS=$BUILD_JOBS"
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --no-start) START=0 ;;
      --force) FORCE=1 ;;
      -h | --help) usage; exit 0 ;;
      *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
  done
}

say() { printf '\n==> %s\n' "$*"; }
did() { DONE+=("$*"); }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# Every command that changes the system goes through run, so --dry-run shows it instead.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '  [dry-run]'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

check_platform() {
  local codename="" arch
  arch="$(uname -m)"
  if [ -r /etc/os-release ]; then
    # shellcheck source=/dev/null
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  fi
  if [ "$codename" != bookworm ] || [ "$arch" != aarch64 ]; then
    local what="this is ${codename:-an unknown release} on $arch, not Raspberry Pi OS Bookworm 64-bit (aarch64)"
    if [ "$FORCE" = 1 ] || [ "$DRY_RUN" = 1 ]; then
      echo "warning: $what; going on anyway"
    else
      die "$what. Use --force to try anyway."
    fi
  fi
  if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root: sudo $0"
  fi
}

install_packages() {
  say "Debian packages (GStreamer, the Pi camera's libcamerasrc, Python bindings, kvssink's build tools)"
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${RUNTIME_PACKAGES[@]}" "${BUILD_PACKAGES[@]}"
  did "installed or confirmed ${#RUNTIME_PACKAGES[@]} runtime and ${#BUILD_PACKAGES[@]} build packages"
}

create_user() {
  say "Service user $SERVICE_USER (unprivileged, in the video group for the camera)"
  if id -u "$SERVICE_USER" >/dev/null 2>&1; then
    run usermod --append --groups video "$SERVICE_USER"
    did "kept user $SERVICE_USER (made sure it is in group video)"
  else
    run useradd --system --user-group --groups video --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
    did "created system user $SERVICE_USER in group video"
  fi
}

kvssink_works() {
  [ -f "$KVS_DIR/gstreamer-1.0/libgstkvssink.so" ] &&
    GST_PLUGIN_PATH="$KVS_DIR/gstreamer-1.0" LD_LIBRARY_PATH="$KVS_DIR/lib" \
      GST_REGISTRY="$(mktemp -u)" gst-inspect-1.0 kvssink >/dev/null 2>&1
}

build_kvssink() {
  say "kvssink from the Kinesis Video Streams producer SDK $KVS_SDK_VERSION ($KVS_SDK_COMMIT)"
  # Looking changes nothing, so a dry run looks too: it shows the 20-40 minute build only when a real run would do it.
  if kvssink_works; then
    run ln -sfn "$KVS_DIR" "$PREFIX/kvs-sdk/current"
    did "kept kvssink $KVS_SDK_VERSION (already built in $KVS_DIR)"
    return
  fi
  if [ ! -d "$KVS_SRC/.git" ]; then
    run install -d "$PREFIX/src"
    run git clone --depth 1 --branch "$KVS_SDK_VERSION" "$KVS_SDK_REPO" "$KVS_SRC"
  fi
  if [ "$DRY_RUN" = 0 ]; then
    local commit
    commit="$(git -C "$KVS_SRC" rev-parse HEAD)"
    [ "$commit" = "$KVS_SDK_COMMIT" ] ||
      die "the SDK's $KVS_SDK_VERSION is commit $commit, not the pinned $KVS_SDK_COMMIT: the tag was moved. Check the release, then set KVS_SDK_COMMIT (or remove $KVS_SRC to clone again)."
  else
    echo "  [dry-run] check that $KVS_SRC is at the pinned commit $KVS_SDK_COMMIT"
  fi
  # BUILD_GSTREAMER_PLUGIN=ON  build kvssink (off by default)
  # BUILD_DEPENDENCIES=OFF     link Debian's OpenSSL, curl and log4cplus instead of building them from source
  # BUILD_SAMPLES=OFF          the sample programs are not needed on a shop's camera
  # CMAKE_BUILD_TYPE=Release   optimised; the SDK's default too
  run cmake -S "$KVS_SRC" -B "$KVS_SRC/build" \
    -DBUILD_GSTREAMER_PLUGIN=ON -DBUILD_DEPENDENCIES=OFF -DBUILD_SAMPLES=OFF -DCMAKE_BUILD_TYPE=Release
  echo "  compiling with $BUILD_JOBS jobs; this takes 20-40 minutes on a Pi 4"
  run cmake --build "$KVS_SRC/build" --parallel "$BUILD_JOBS"
  run install -d "$KVS_DIR/gstreamer-1.0" "$KVS_DIR/lib"
  run install -m 644 "$KVS_SRC/build/libgstkvssink.so" "$KVS_DIR/gstreamer-1.0/"
  # The producer libraries kvssink links to (libKinesisVideoProducer, libcproducer, ...), symlinks kept.
  run find "$KVS_SRC/build" -name 'lib*.so*' ! -name libgstkvssink.so -exec cp -P {} "$KVS_DIR/lib/" ';'
  run ln -sfn "$KVS_DIR" "$PREFIX/kvs-sdk/current"
  if [ "$DRY_RUN" = 0 ] && ! kvssink_works; then
    die "kvssink was built but GStreamer cannot load it; see: GST_PLUGIN_PATH=$KVS_DIR/gstreamer-1.0 LD_LIBRARY_PATH=$KVS_DIR/lib gst-inspect-1.0 kvssink"
  fi
  did "built kvssink $KVS_SDK_VERSION into $KVS_DIR"
}

install_app() {
  say "The camera service ($APP_DIR)"
  run install -d "$APP_DIR"
  run rm -rf "$APP_DIR/greeter_camera"
  run cp -r "$SCRIPT_DIR/greeter_camera" "$APP_DIR/"
  run find "$APP_DIR/greeter_camera" -name __pycache__ -prune -exec rm -rf {} +
  run install -m 644 "$SCRIPT_DIR/camera.env.example" "$SCRIPT_DIR/README.md" "$SCRIPT_DIR/requirements.txt" "$APP_DIR/"
  if [ ! -x "$APP_DIR/venv/bin/python" ]; then
    # --system-site-packages: python3-gi comes from the system, matching its GStreamer. numpy and OpenCV come
    # from PyPI's aarch64 wheels (requirements.txt): Bookworm's python3-numpy is 1.24, older than OpenCV needs.
    run python3 -m venv --system-site-packages "$APP_DIR/venv"
  fi
  run "$APP_DIR/venv/bin/pip" install --quiet --disable-pip-version-check -r "$APP_DIR/requirements.txt"
  did "installed the service code and its virtualenv in $APP_DIR"
}

install_config() {
  say "Configuration ($CONFIG_DIR)"
  run install -d -m 750 -o root -g "$SERVICE_USER" "$CONFIG_DIR" "$CONFIG_DIR/certs"
  run install -m 644 "$SCRIPT_DIR/kvs_log_configuration" "$CONFIG_DIR/kvs_log_configuration"
  if [ -f "$CONFIG_DIR/camera.env" ]; then
    did "kept your $CONFIG_DIR/camera.env"
  else
    run install -m 640 -o root -g "$SERVICE_USER" "$SCRIPT_DIR/camera.env.example" "$CONFIG_DIR/camera.env"
    did "created $CONFIG_DIR/camera.env from the example: fill it in"
  fi
}

install_unit() {
  say "systemd unit $UNIT"
  run install -m 644 "$SCRIPT_DIR/$UNIT" "/etc/systemd/system/$UNIT"
  run systemctl daemon-reload
  run systemctl enable "$UNIT"
  did "installed and enabled $UNIT (starts at boot, after the network is up)"
}

check_and_start() {
  say "Checking the configuration and this Pi"
  local check=(runuser -u "$SERVICE_USER" -- env PYTHONPATH="$APP_DIR"
    GST_PLUGIN_PATH="$PREFIX/kvs-sdk/current/gstreamer-1.0" LD_LIBRARY_PATH="$PREFIX/kvs-sdk/current/lib"
    GST_REGISTRY="$(mktemp -u /tmp/greeter-camera-registry.XXXXXX)"
    "$APP_DIR/venv/bin/python" -m greeter_camera check --config "$CONFIG_DIR/camera.env")
  if [ "$DRY_RUN" = 1 ]; then
    run "${check[@]}"
    return
  fi
  if "${check[@]}"; then
    if [ "$START" = 1 ]; then
      run systemctl restart "$UNIT"
      did "started $UNIT: see it with systemctl status greeter-camera"
    fi
  else
    did "did NOT start $UNIT: fix what the check above says, then: sudo systemctl restart greeter-camera"
  fi
}

main() {
  parse_args "$@"
  check_platform
  install_packages
  create_user
  build_kvssink
  install_app
  install_config
  install_unit
  check_and_start

  if [ "$DRY_RUN" = 1 ]; then
    say "Dry run: nothing was changed. A real run would have:"
  else
    say "Done. What this run did:"
  fi
  for line in "${DONE[@]}"; do
    echo "  - $line"
  done
}

# Sourcing the script (the tests do) defines the steps without running them.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
