#!/bin/sh
# Starts parleyd with --deflate and the given arguments, so that the browser tests, which take
# only a binary path in PARLEYD, run against a server that accepts permessage-deflate.
# PARLEYD_BINARY names the real parleyd.
exec "${PARLEYD_BINARY:?set PARLEYD_BINARY to the parleyd binary}" --deflate "$@"
