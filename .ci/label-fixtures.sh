# Sourced by .ci/test: the tools that beian-label's interop tests use to make fixtures
# and to read back what beian writes (crates/label/tests/interop.rs):
#   python3 with Pillow, mutagen and PyAV (PyPI; PyAV's wheel carries FFmpeg's
#   libraries, so no Debian ffmpeg is needed: ~100 MB installed, ~10 s), pillow-heif
#   (PyPI; its wheel carries libheif, to write HEIC fixtures: test-only), exiftool
#   (Debian libimage-exiftool-perl), oggz-chop and oggz-validate (Debian oggz-tools),
#   and c2pa-python + cryptography (PyPI; the C2PA
#   SDK's wheel carries c2pa-rs, ~30 MB) to sign C2PA fixtures with a throwaway test CA.
# Under CI=true the interop tests fail when a tool is missing (they skip elsewhere).

# Debian packages: exiftool, and liboggz's tools (oggz-chop writes an Ogg Skeleton in
# front of the audio; oggz-validate checks what beian writes), ~1 MB
need_debs=()
command -v exiftool >/dev/null 2>&1 || need_debs+=(libimage-exiftool-perl)
command -v oggz-chop >/dev/null 2>&1 || need_debs+=(oggz-tools)
if [ ${#need_debs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${need_debs[*]} (Debian packages)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need_debs[@]}" >/dev/null; } \
            || echo "note: could not install ${need_debs[*]}; label interop tests will skip (fail under CI)" >&2
    else
        echo "note: ${need_debs[*]} missing; label interop tests will skip (fail under CI)" >&2
    fi
fi
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import PIL, mutagen, av, pillow_heif" >/dev/null 2>&1; then
    echo "installing Pillow, mutagen, PyAV and pillow-heif (PyPI)" >&2
    python3 -m pip install --quiet --disable-pip-version-check "Pillow>=11.3" "mutagen>=1.47" "av>=14" "pillow-heif>=0.18" >/dev/null 2>&1 \
        || python3 -m pip install --quiet --break-system-packages "Pillow>=11.3" "mutagen>=1.47" "av>=14" "pillow-heif>=0.18" >/dev/null 2>&1 \
        || echo "note: could not install Pillow/mutagen/PyAV/pillow-heif; label interop tests will skip (fail under CI)" >&2
fi
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import c2pa, cryptography" >/dev/null 2>&1; then
    echo "installing c2pa-python and cryptography (PyPI)" >&2
    python3 -m pip install --quiet --disable-pip-version-check "c2pa-python>=0.38" "cryptography>=42" >/dev/null 2>&1 \
        || python3 -m pip install --quiet --break-system-packages "c2pa-python>=0.38" "cryptography>=42" >/dev/null 2>&1 \
        || echo "note: could not install c2pa-python; the C2PA interop test will skip (fail under CI)" >&2
fi
