#!/usr/bin/env bash
# Removes what a lab run killed with SIGKILL could leave behind: every
# network namespace whose name starts with "mgl" (all lab namespaces do),
# after killing the processes inside it (servers, tcpdump). As root.
set -u
for ns in $(ip netns list | awk '{print $1}' | grep -E '^mgl'); do
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
  sleep 0.2
  ip netns del "$ns" && echo "removed $ns"
done
exit 0
