#!/bin/sh
# Builds the SDK example the way a vendor would: `make install` into a
# scratch DESTDIR, then compile the installed example source with nothing
# but the installed headers and pkg-config file, then run the auth_inifile
# integration test with that .so loaded into natsd.
#
# Needs (from the test environment): abs_top_builddir, MAKE, CC,
# PKG_CONFIG. Exit codes as automake's: 0 pass, 1 fail, 77 skip, 99 error.
set -u

: "${abs_top_builddir:?}" "${MAKE:=make}" "${CC:=cc}" "${PKG_CONFIG:=pkg-config}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sdk_install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

fail() {
	echo "sdk_install: $*" >&2
	exit 1
}

# make's own variables would leak into the nested make and confuse it.
unset MAKEFLAGS MFLAGS MAKELEVEL
"$MAKE" -C "$abs_top_builddir" install DESTDIR="$root" \
	>"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	fail "make install DESTDIR=$root failed"
}

pc=$(find "$root" -name natsd-plugin.pc | head -n 1)
[ -n "$pc" ] || fail "natsd-plugin.pc was not installed"
example=$(find "$root" -path '*examples/auth_inifile/auth_inifile.c' |
	head -n 1)
[ -n "$example" ] || fail "the example source was not installed"
[ -f "$(dirname "$example")/users.ini" ] || fail "users.ini was not installed"
readme=$(find "$root" -path '*/doc/*' -name README.md | head -n 1)
[ -n "$readme" ] || fail "the SDK guide was not installed"

# The .pc file names the install prefix; the sysroot puts it under DESTDIR.
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cflags=$("$PKG_CONFIG" --cflags natsd-plugin) || fail "pkg-config --cflags"
libs=$("$PKG_CONFIG" --libs natsd-plugin) || fail "pkg-config --libs"
case $cflags in
*"$root"*) ;;
*) fail "cflags do not point into the installed tree: $cflags" ;;
esac
# inih is a system library: no sysroot for it.
inih_cflags=$(PKG_CONFIG_SYSROOT_DIR= "$PKG_CONFIG" --cflags inih)
inih_libs=$(PKG_CONFIG_SYSROOT_DIR= "$PKG_CONFIG" --libs inih)

so=$tmp/auth_inifile.so
echo "$CC $cflags $inih_cflags -Wall -Wextra -Werror -shared -fPIC" \
	"$example -o $so $libs $inih_libs -lcrypt -pthread"
# shellcheck disable=SC2086
"$CC" $cflags $inih_cflags -Wall -Wextra -Werror -shared -fPIC \
	"$example" -o "$so" $libs $inih_libs -lcrypt -pthread ||
	fail "the example does not build against the installed SDK"

# Only the entry point is exported.
if command -v nm >/dev/null 2>&1; then
	exported=$(nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }')
	[ "$exported" = natsd_plugin_entry ] ||
		fail "exported functions: $exported"
fi

INIFILE_PLUGIN=$so "$abs_top_builddir/tests/integration/inifile_test"
