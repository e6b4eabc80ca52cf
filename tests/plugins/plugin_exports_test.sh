#!/usr/bin/env bash
# Every real plugin exports its entry point and nothing else (so plugins
# cannot clash), and defines none of core's config.proto code (which must live
# in libmnemo_core.so alone, or protobuf aborts on the second registration).
# Usage: plugin_exports_test.sh PLUGIN.so...
set -euo pipefail

status=0
# Each tool's output is read whole before it is searched: `tool | grep -q`
# under pipefail fails at random when grep exits first and tool gets SIGPIPE.
for plugin in "$@"; do
  dynamic="$(nm -D --defined-only "$plugin")"
  needed="$(readelf -d "$plugin")"
  exports="$(awk '{print $3}' <<<"$dynamic" |
             grep -v -x -e mnemo_plugin_info -e __bss_start -e _edata -e _end || true)"
  if [[ -n "$exports" ]]; then
    echo "FAIL: $plugin exports more than mnemo_plugin_info (link it with exports.lds):"
    echo "$exports" | sed 's/^/  /'
    status=1
  fi
  if ! grep -q -w mnemo_plugin_info <<<"$dynamic"; then
    echo "FAIL: $plugin does not export mnemo_plugin_info (call MNEMO_PLUGIN once)"
    status=1
  fi
  # Code of config.proto's classes (their members, vtables, type information,
  # descriptor tables); a template of the plugin's own that merely takes a
  # config message (UnpackOptions<T, config::Layer>) is not such code.
  config="$(nm -C --defined-only "$plugin" | cut -d' ' -f3- |
            grep -E '^(mnemo::config::|(vtable|typeinfo|typeinfo name|guard variable) for mnemo::config::)|config_2eproto' ||
            true)"
  if [[ -n "$config" ]]; then
    echo "FAIL: $plugin contains core's config.proto code (depend on //core only):"
    echo "$config" | head -5 | sed 's/^/  /'
    status=1
  fi
  if ! grep -q 'NEEDED.*\[libmnemo_core.so\]' <<<"$needed"; then
    echo "FAIL: $plugin does not link libmnemo_core.so dynamically"
    status=1
  fi
  [[ $status -eq 0 ]] && echo "ok: $plugin"
done
exit $status
