# SPDX-License-Identifier: GPL-2.0
#
# Filter for the static hook's link (Makefile): drops glibc's notes that a
# function "in statically linked applications requires at runtime the
# shared libraries" (getaddrinfo, dlopen, ... in libcrypto objects the hook
# never calls) together with the "in function" line before each; passes
# everything else through, errors included.
/: in function `.*':$/ {
	if (held != "")
		print held
	held = $0
	next
}
/in statically linked applications requires at runtime/ {
	held = ""
	next
}
{
	if (held != "")
		print held
	held = ""
	print
}
END {
	if (held != "")
		print held
}
