#!/bin/bash
# Rejects calls our style bans in product code (lib/, pam_authguard/,
# helpers/, daemon/): unbounded string functions and number parsers that cannot
# report errors.  Use ag_strlcpy, snprintf and ag_parse_int64 instead.
set -euo pipefail
cd "$top_srcdir"
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|atoi|atol|atoll|sscanf|gets|rand|srand|system|popen|mktemp|tmpnam)[[:space:]]*\('
if hits=$(grep -nE "$banned" lib/*.c lib/*.h lib/web/*.c lib/web/*.h pam_authguard/*.c helpers/*.c helpers/*.h \
	daemon/*.c daemon/*.h); then
	echo "FAIL: banned calls:"
	echo "$hits"
	exit 1
fi
echo "ok - no banned calls in lib/, pam_authguard/, helpers/, daemon/"
