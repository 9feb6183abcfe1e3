#!/usr/bin/env bash
# Leftover staging folders beside --to: only those this tool made (a marker
# naming this host, boot and PID namespace), with the exact name, whose
# process is provably gone, are removed; the rest are left alone.
# usage: staging.sh CONVERT SPEC FROM WORKDIR
set -u
convert=$1 spec=$2 from=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
host=$(hostname) boot=$(cat /proc/sys/kernel/random/boot_id)
ns=$(readlink /proc/self/ns/pid)
marker() { # DIR PID HOST BOOT NS START
  mkdir -p "$1" && printf 'weight-layout-staging/1\nhost=%s\nboot=%s\npidns=%s\npid=%s\nstart=%s\n' \
    "$3" "$4" "$5" "$2" "$6" > "$1/.weight-layout-staging"
  echo precious > "$1/data"
}
dead=4000000
while [ -e /proc/$dead ]; do dead=$((dead - 1)); done
sleep 60 & live=$!
start=$(awk '{print $22}' /proc/$live/stat)
marker "out.wl-tmp-$dead" $dead "$host" "$boot" "$ns" 1           # gone: removed
marker "out.wl-tmp-$live" $live "$host" "$boot" "$ns" "$start"    # running: kept
mkdir "out.wl-tmp-$((dead - 6))" && cp "out.wl-tmp-$dead/.weight-layout-staging" "out.wl-tmp-$((dead - 6))/" # marker names another pid
marker "out.wl-tmp-${dead}x" $dead "$host" "$boot" "$ns" 1        # trailing text
marker "out.wl-tmp-0$dead" $dead "$host" "$boot" "$ns" 1          # leading zero
marker "out.wl-tmp-$((dead - 1))" $((dead - 1)) other-host "$boot" "$ns" 1
marker "out.wl-tmp-$((dead - 2))" $((dead - 2)) "$host" other-boot "$ns" 1
marker "out.wl-tmp-$((dead - 3))" $((dead - 3)) "$host" "$boot" "pid:[1]" 1
mkdir "out.wl-tmp-$((dead - 4))" && echo precious > "out.wl-tmp-$((dead - 4))/data" # no marker
marker real $((dead - 5)) "$host" "$boot" "$ns" 1
ln -s real "out.wl-tmp-$((dead - 5))"                              # a link
# The process of the live marker exists but started at another time (its
# PID was reused): gone.
marker "out.wl-tmp-$$" $$ "$host" "$boot" "$ns" 1
names() {
  local e=() k
  for k in 1 2 3 4 5 6; do e+=(-e "s/wl-tmp-$((dead - k))\b/wl-tmp-DEAD-$k/"); done
  sed "${e[@]}" -e "s/wl-tmp-\(0*\)$dead/wl-tmp-\1DEAD/" \
    -e "s/wl-tmp-$live\b/wl-tmp-LIVE/; s/wl-tmp-$$\b/wl-tmp-SHELL/" -e "s|$work/||"
}
"$convert" --mapping "$spec" --from "$from" --to out --quiet 2>&1 | names | LC_ALL=C sort
echo "exit: ${PIPESTATUS[0]}"
kill $live 2>/dev/null
ls | names | LC_ALL=C sort | sed "s/^/left: /"
