# Host-side asset for the jail_rootfs scenario: the native jail escape suite
# (tests/native/jail.sh with its policies, laid out as in the tree so its
# relative paths hold) and its helper tests/native/jail/escape.c built
# static, since L1 has no compiler.
set -eu
d=$ASSETS/jail_rootfs
mkdir -p "$d/tests/native/jail"
cp "$SRC/tests/native/jail.sh" "$d/tests/native/"
cp "$SRC/tests/native/jail/escape.policy" "$SRC/tests/native/jail/common.policy" "$d/tests/native/jail/"
${MUSL_CC:-musl-gcc} -static -O2 -Wall -Wextra -Werror -o "$d/escape" "$SRC/tests/native/jail/escape.c"
