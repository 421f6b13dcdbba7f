#!/usr/bin/env bash
# bench.sh: runs green-bench's workloads on Green and, in the same run, on the runtimes a user
# would pick instead, and writes two markdown tables to stdout and to bench-results/latest.md:
#   1. one core: green (--hubs 1), swift (Swift concurrency: Tasks, AsyncStream inboxes),
#      go (Benchmarks/go, GOMAXPROCS=1), erlang (Benchmarks/erlang, +S 1) and, for the switch,
#      boost.context (Benchmarks/boost, the floor);
#   2. two cores: issue 9's workloads with --hubs 2 / GOMAXPROCS=2 / +S 2 (pairs with both).
# Each row gives Green's cost over the best peer's (below 1× Green is faster) and the targets of
# issues 9, 12 and 14, marked met or missed.
#
# Usage: scripts/bench.sh [--quick | --check]
#   --quick   counts divided by 100 (skynet: 10000 leaves), to check the script itself.
#   --check   builds the peers only and checks that each prints one line with green-bench's keys
#             (small counts) and exits 64 on a bad workload; exits 1 if one doesn't. No table.
#
# Peers: the script installs a missing toolchain with apt-get (golang-go, erlang-base,
# libboost-context-dev and g++) and builds the peers into .build-peers/. A peer whose toolchain
# can't be installed or built is left out with a note (its cells show "—"). A workload that fails
# on a runtime (a green-bench without `pairs` or `--hubs 2`, a crash, a timeout, a line without
# green-bench's keys) shows "n/a" and the script goes on.
#
# Pinning: every run of the one-core table runs under `taskset -c $GREEN_BENCH_CPUS_ONE`
# (default CPU 1), so each runtime's helper threads (Go's sysmon and GC workers, Erlang's aux
# and dirty schedulers, Swift's second pool thread, Green's monitor) share its one core; the
# two-core table runs under `taskset -c $GREEN_BENCH_CPUS_TWO` (default 0,1). Set either empty
# to not pin. Only ratios measured in one run mean anything on a shared machine.
#
# Environment:
#   GREEN_BENCH_PACKAGE   package to build green-bench in (default: this repository)
#   GREEN_BENCH_RESULTS   folder for latest.md (default: bench-results in this repository)
#   GREEN_BENCH_PEERS     peers to run (default "go erlang boost"; empty: Green and Swift only)
#   GREEN_BENCH_INSTALL   0: never install missing toolchains (default 1)
#   GREEN_BENCH_CPUS_ONE, GREEN_BENCH_CPUS_TWO   CPU lists for taskset (see Pinning)
#   GREEN_BENCH_TIMEOUT   seconds one run may take before it counts as failed (default 900)
#   GREEN_BENCH_GO_BUFFER slots of Go's channel in oneway and fanin (default 0: unbuffered, as
#                         everywhere else; a buffered channel is Go's closer match to a mailbox)
#   GREEN_BENCH_REPEAT    runs of each cell, keeping the cheapest (default 1; 3 steadies a
#                         loaded machine's figures at three times the time)
#
# Progress and errors go to stderr; stdout carries only the tables.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
package=${GREEN_BENCH_PACKAGE:-$repo}
results=${GREEN_BENCH_RESULTS:-$repo/bench-results}
peers_dir=$repo/.build-peers
go_bin=$peers_dir/green-peer-go
boost_bin=$peers_dir/green-peer-boost
escript_file=$repo/Benchmarks/erlang/green_peer.escript

mode=tables scale=1
case "${1:-}" in
    --quick) scale=100 ;;
    --check) mode=check ;;
    "") ;;
    *) echo "usage: $0 [--quick | --check]" >&2; exit 64 ;;
esac
timeout_s=${GREEN_BENCH_TIMEOUT:-900}

note() { echo "$*" >&2; }

# ---- toolchains and peers ----

# apt_install PACKAGE...: installs with apt-get (root, or sudo without a password); fails quietly.
apt_install() {
    [[ ${GREEN_BENCH_INSTALL:-1} == 1 ]] && command -v apt-get >/dev/null || return 1
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq)
    ((EUID == 0)) || apt=(sudo -n "${apt[@]}")
    note "installing $*"
    "${apt[@]}" install -y --no-install-recommends "$@" >&2 && return 0
    "${apt[@]}" update >&2 && "${apt[@]}" install -y --no-install-recommends "$@" >&2
}

peers=()        # the peers built and ready
peer_notes=()   # why a peer is missing, for the results file

# build_peers: installs what each wanted peer needs, builds it, and lists it in $peers.
build_peers() {
    mkdir -p "$peers_dir"
    local peer
    for peer in ${GREEN_BENCH_PEERS-go erlang boost}; do
        case $peer in
            go)
                command -v go >/dev/null || apt_install golang-go || true
                if ! command -v go >/dev/null; then
                    peer_notes+=("go: left out, golang-go could not be installed")
                # Standard library only: nothing to fetch (GOPROXY=off).
                elif (cd "$repo/Benchmarks/go" && GOPROXY=off GOFLAGS=-mod=mod go build -o "$go_bin" .) >&2; then
                    peers+=(go)
                else
                    peer_notes+=("go: left out, Benchmarks/go did not build")
                fi ;;
            erlang)
                command -v escript >/dev/null || apt_install erlang-base || true
                if ! command -v escript >/dev/null; then
                    peer_notes+=("erlang: left out, erlang-base could not be installed")
                elif ERL_FLAGS="+S 1" escript "$escript_file" oneway 10 >/dev/null; then
                    peers+=(erlang)
                else
                    peer_notes+=("erlang: left out, Benchmarks/erlang/green_peer.escript did not run")
                fi ;;
            boost)
                if [[ ! -f /usr/include/boost/context/continuation.hpp ]] || ! command -v g++ >/dev/null; then
                    apt_install libboost-context-dev g++ || true
                fi
                if g++ -O2 -std=c++17 "$repo/Benchmarks/boost/switch.cpp" -o "$boost_bin" -lboost_context >&2; then
                    peers+=(boost)
                else
                    peer_notes+=("boost: left out, libboost-context-dev or g++ missing, or Benchmarks/boost did not build")
                fi ;;
            *) peer_notes+=("$peer: unknown peer, left out") ;;
        esac
    done
    for peer in ${peer_notes[@]+"${peer_notes[@]}"}; do note "$peer"; done
}

has_peer() { [[ " ${peers[*]-} " == *" $1 "* ]]; }

# ---- lines ----

# field LINE KEY: the value of KEY in a key=value line, or nothing.
field() {
    local pair
    for pair in $1; do
        if [[ $pair == "$2="* ]]; then
            printf '%s\n' "${pair#*=}"
            return
        fi
    done
}

# calc EXPRESSION: awk arithmetic, printed with printf format $2 (default %.2f).
calc() { awk "BEGIN { printf \"${2:-%.2f}\", ($1) }"; }

# expected_keys WORKLOAD: green-bench's keys after workload= and runtime=, in order (idiom keys
# and the trailing hubs= aside).
expected_keys() {
    case $1 in
        switch) echo "yields seconds ns_per_yield" ;;
        pingpong) echo "roundtrips seconds msgs_per_s ns_per_msg p50_ns p99_ns" ;;
        oneway) echo "msgs seconds msgs_per_s ns_per_msg" ;;
        fanin) echo "msgs senders seconds msgs_per_s ns_per_msg" ;;
        spawn) echo "greenlets spawn_and_park_s total_s ns_per_spawn bytes_per_parked" ;;
        ring) echo "hops seconds ns_per_hop" ;;
        skynet) echo "actors leaves seconds sum" ;;
        pairs) echo "pairs roundtrips seconds msgs_per_s ns_per_msg" ;;
        restart) echo "restarts seconds ns_per_restart" ;;
        bridge | green-from-async) echo "calls seconds ns_per_call p50_ns p99_ns" ;;
    esac
}

# runtime_name RUNTIME: what the runtime's lines say in runtime=.
runtime_name() { [[ $1 == boost ]] && echo boost_context || echo "$1"; }

# line_problem RUNTIME WORKLOAD OUTPUT: what is wrong with a run's output, or nothing.
line_problem() {
    local runtime=$1 workload=$2 out=$3 pair keys=() values=()
    [[ -n $out ]] || { echo "printed nothing"; return; }
    [[ $out != *$'\n'* ]] || { echo "printed more than one line"; return; }
    for pair in $out; do
        [[ $pair == ?*=?* ]] || { echo "bad pair '$pair'"; return; }
        keys+=("${pair%%=*}") values+=("${pair#*=}")
    done
    [[ ${keys[0]} == workload && ${values[0]} == "$workload" && ${keys[1]:-} == runtime ]] ||
        { echo "does not begin with workload=$workload runtime="; return; }
    [[ ${values[1]} == "$(runtime_name "$runtime")" ]] || { echo "says runtime=${values[1]}"; return; }
    local i got=""
    for ((i = 2; i < ${#keys[@]}; i++)); do
        [[ ${keys[i]} == *_idiom ]] && continue
        [[ ${keys[i]} == hubs ]] && ((i == ${#keys[@]} - 1)) && continue
        [[ ${values[i]} =~ ^([0-9]+(\.[0-9]+)?|inf)$ ]] || { echo "${keys[i]}=${values[i]} is no number"; return; }
        got+="${got:+ }${keys[i]}"
    done
    [[ $got == "$(expected_keys "$workload")" ]] || echo "keys '$got', expected '$(expected_keys "$workload")'"
}

# run_line RUNTIME HUBS WORKLOAD [COUNT] [ARGS...]: one run's line, or nothing if it failed.
# HUBS is --hubs for green-bench, GOMAXPROCS for Go, +S for Erlang.
run_line() {
    local runtime=$1 hubs=$2 workload=$3 cpus cmd out status=0 problem
    shift 2
    if ((hubs == 1)); then cpus=${GREEN_BENCH_CPUS_ONE-1}; else cpus=${GREEN_BENCH_CPUS_TWO-0,1}; fi
    cmd=(timeout -k 10 "$timeout_s")
    [[ -z $cpus ]] || ! command -v taskset >/dev/null || cmd+=(taskset -c "$cpus")
    case $runtime in
        green | swift) cmd+=("$bin" "$@" --hubs "$hubs" --runtime "$runtime") ;;
        go)
            cmd=(env GOMAXPROCS="$hubs" "${cmd[@]}" "$go_bin" "$@")
            [[ $workload != oneway && $workload != fanin ]] || cmd+=(--buffer "${GREEN_BENCH_GO_BUFFER:-0}") ;;
        # +P: skynet's million leaves need more than the default 262,144 processes.
        erlang) cmd=(env ERL_FLAGS="+S $hubs +P 2000000" "${cmd[@]}" escript "$escript_file" "$@") ;;
        boost) cmd+=("$boost_bin" "$@") ;;
    esac
    note "running ${cmd[*]}"
    out=$("${cmd[@]}") || status=$?
    if ((status != 0)); then
        note "  failed (exit $status): shown as n/a"
        return
    fi
    problem=$(line_problem "$runtime" "$workload" "$out")
    if [[ -n $problem ]]; then
        case $runtime in
            green | swift)
                # green-bench is the reference; its keys may move on before this script does.
                note "  note: $problem"
                [[ -n $(cost "$workload" "$out") ]] || { note "  no figure: shown as n/a"; return; } ;;
            *) note "  $problem: shown as n/a"; return ;;
        esac
    fi
    printf '%s\n' "$out"
}

# ---- --check: the peers' lines parse ----

if [[ $mode == check ]]; then
    timeout_s=${GREEN_BENCH_TIMEOUT:-120}
    build_peers
    failures=0 checked=0
    check_runs=("switch 1000" "pingpong 1000" "oneway 1000" "fanin 1000 --senders 4" "spawn 1000"
                "ring 1000" "skynet 1000" "pairs 1000 --pairs 2" "restart 100")
    for peer in ${peers[@]+"${peers[@]}"}; do
        for spec in "${check_runs[@]}"; do
            read -r workload _ <<<"$spec"
            case $peer:$workload in
                boost:switch | erlang:* | go:switch | go:pingpong | go:oneway | go:fanin | go:spawn | \
                    go:ring | go:skynet | go:pairs) ;;
                *) continue ;;
            esac
            for hubs in 1 2; do
                [[ $peer == boost ]] && ((hubs == 2)) && continue
                checked=$((checked + 1))
                # shellcheck disable=SC2086 # $spec holds the arguments, split on purpose
                line=$(run_line "$peer" "$hubs" $spec)
                if [[ -z $line ]]; then
                    failures=$((failures + 1))
                elif ((hubs == 2)) && [[ $line != *" hubs=2" ]]; then
                    note "  no trailing hubs=2: $line"
                    failures=$((failures + 1))
                else
                    note "  ok: $line"
                fi
            done
        done
        checked=$((checked + 1))
        status=0
        case $peer in
            go) "$go_bin" juggle 10 2>/dev/null || status=$? ;;
            erlang) escript "$escript_file" juggle 10 2>/dev/null || status=$? ;;
            boost) "$boost_bin" juggle 10 2>/dev/null || status=$? ;;
        esac
        if ((status == 64)); then note "  ok: $peer juggle 10 exits 64"; else
            note "  $peer juggle 10 exited $status, expected 64"
            failures=$((failures + 1))
        fi
    done
    note "peers checked: ${peers[*]-none}; $checked runs, $failures failed"
    ((${#peers[@]} > 0 && failures == 0))
    exit
fi

# ---- the tables ----

# figure WORKLOAD LINE: the human-readable figure for the table.
figure() {
    local line=$2
    [[ -n $line ]] || { echo "n/a"; return; }
    case $1 in
        switch) echo "$(field "$line" ns_per_yield) ns/yield" ;;
        pingpong) echo "$(field "$line" ns_per_msg) ns/msg (rtt p50 $(field "$line" p50_ns) ns, p99 $(field "$line" p99_ns) ns)" ;;
        oneway | fanin) echo "$(field "$line" ns_per_msg) ns/msg" ;;
        pairs) echo "$(field "$line" ns_per_msg) ns/msg, $(calc "$(field "$line" msgs_per_s) / 1e6") M msgs/s" ;;
        spawn) echo "$(field "$line" ns_per_spawn) ns/spawn, $(field "$line" bytes_per_parked) B/parked" ;;
        ring) echo "$(field "$line" ns_per_hop) ns/hop" ;;
        skynet) echo "$(field "$line" seconds) s" ;;
        restart) echo "$(field "$line" ns_per_restart) ns/restart" ;;
        bridge | green-from-async) echo "$(field "$line" ns_per_call) ns/call (p50 $(field "$line" p50_ns) ns)" ;;
    esac
}

# cost WORKLOAD LINE: the number the ratios compare (lower is better).
cost() {
    case $1 in
        switch) field "$2" ns_per_yield ;;
        pingpong | oneway | fanin | pairs) field "$2" ns_per_msg ;;
        spawn) field "$2" ns_per_spawn ;;
        ring) field "$2" ns_per_hop ;;
        skynet) field "$2" seconds ;;
        restart) field "$2" ns_per_restart ;;
        bridge | green-from-async) field "$2" ns_per_call ;;
    esac
}

# ratio A B: A / B with two decimals, or nothing unless both are positive numbers.
ratio() {
    [[ -n ${1:-} && -n ${2:-} ]] || return 0
    [[ $(calc "$1 > 0 && $2 > 0" %d) == 1 ]] || return 0
    calc "$1 / $2"
}

# verdict TEXT VALUE CONDITION [UNIT]: TEXT, and with VALUE the value (followed by UNIT,
# default ×) and ✅ or ❌ as CONDITION (awk, on x = VALUE) holds.
verdict() {
    local text=$1 value=$2 condition=$3 unit=${4:-×}
    if [[ -z $value ]]; then
        echo "$text"
    elif [[ $(calc "(x = $value) >= 0 && ($condition) ? 1 : 0" %d) == 1 ]]; then
        echo "$text: $value$unit ✅"
    else
        echo "$text: $value$unit ❌"
    fi
}

# runtimes_for WORKLOAD: the runtimes that have the workload.
runtimes_for() {
    case $1 in
        switch) echo "green swift go erlang boost" ;;
        restart) echo "green erlang" ;;
        bridge | green-from-async) echo "green swift" ;;
        *) echo "green swift go erlang" ;;
    esac
}

# Rows: "HUBS WORKLOAD COUNT [ARGS...]"; COUNTs are divided by $scale.
one_core_rows=(
    "1 switch 1000000"
    "1 pingpong 1000000"
    "1 oneway 1000000"
    "1 fanin 1000000 --senders 10"
    "1 spawn 100000"
    "1 ring 1000000"
    "1 skynet 1000000"
    "1 restart 1000"
    "1 bridge 100000"
    "1 green-from-async 100000"
)
two_core_rows=(
    "1 pairs 4000000 --pairs 2"
    "2 pairs 4000000 --pairs 2"
    "2 pingpong 1000000"
    "2 fanin 1000000 --senders 10"
    "2 skynet 1000000"
)

declare -A lines=()      # "TABLE:ROW:RUNTIME" -> the run's line (empty: it failed)
declare -A workloads=()  # "TABLE:ROW" -> the row's workload

# measure TABLE ROWS...: runs every row on every runtime that has it, into $lines.
measure() {
    local table=$1 row=0 spec hubs workload count rest runtime
    shift
    for spec in "$@"; do
        read -r hubs workload count rest <<<"$spec"
        count=$((count / scale))
        workloads[$table:$row]=$workload
        for runtime in $(runtimes_for "$workload"); do
            [[ $runtime == green || $runtime == swift ]] || has_peer "$runtime" || continue
            local best="" line attempt
            for ((attempt = 0; attempt < ${GREEN_BENCH_REPEAT:-1}; attempt++)); do
                # shellcheck disable=SC2086 # $rest holds extra options, split on purpose
                line=$(run_line "$runtime" "$hubs" "$workload" "$count" $rest)
                [[ -n $line ]] || continue
                if [[ -z $best ]] || [[ $(calc "$(cost "$workload" "$line") < $(cost "$workload" "$best")" %d) == 1 ]]; then
                    best=$line
                fi
            done
            lines[$table:$row:$runtime]=$best
        done
        row=$((row + 1))
    done
}

# cell TABLE ROW RUNTIME WORKLOAD: a runtime's figure, or "—" where it doesn't run.
cell() {
    local runtime=$3
    if [[ " $(runtimes_for "$4") " != *" $runtime "* ]] ||
        { [[ $runtime != green && $runtime != swift ]] && ! has_peer "$runtime"; }; then
        echo "—"
    else
        figure "$4" "${lines[$1:$2:$runtime]-}"
    fi
}

# best_peer TABLE ROW WORKLOAD [RUNTIMES...]: "COST RUNTIME" of the cheapest of RUNTIMES (default:
# every runtime but green) that ran the row.
best_peer() {
    local table=$1 row=$2 workload=$3 runtime best="" best_runtime="" c candidates
    shift 3
    candidates=${*:-swift go erlang boost}
    for runtime in $candidates; do
        c=$(cost "$workload" "${lines[$table:$row:$runtime]-}")
        [[ -n $c ]] || continue
        if [[ -z $best || $(calc "$c < $best" %d) == 1 ]]; then best=$c best_runtime=$runtime; fi
    done
    [[ -z $best ]] || echo "$best $best_runtime"
}

# green_ratio TABLE ROW WORKLOAD [RUNTIMES...]: Green's cost over the best of RUNTIMES, or nothing.
green_ratio() {
    local best
    best=$(best_peer "$@")
    ratio "$(cost "$3" "${lines[$1:$2:green]-}")" "${best% *}"
}

# target TABLE ROW HUBS WORKLOAD: the issues' target for the row, with its verdict.
target() {
    local table=$1 row=$2 hubs=$3 workload=$4 green
    green=${lines[$table:$row:green]-}
    case $table:$hubs:$workload in
        one:1:switch) verdict "≤ 2.0× boost.context (#12)" "$(green_ratio one "$row" switch boost)" "x <= 2.0" ;;
        one:1:pingpong) verdict "≤ 0.5× Go (#12)" "$(green_ratio one "$row" pingpong go)" "x <= 0.5" ;;
        one:1:spawn)
            local r bytes
            r=$(green_ratio one "$row" spawn swift go erlang) bytes=$(field "$green" bytes_per_parked)
            if [[ -n $r && -n $bytes ]]; then
                verdict "≤ 0.8× best of Swift, Go, Erlang and ≤ 4,500 B parked (#12)" "$r" "x <= 0.8 && $bytes <= 4500"
            else
                echo "≤ 0.8× best of Swift, Go, Erlang and ≤ 4,500 B parked (#12)"
            fi ;;
        one:1:skynet) verdict "≤ 1.0× Go (#12)" "$(green_ratio one "$row" skynet go)" "x <= 1.0" ;;
        one:1:bridge) verdict "≤ 1.0× Swift's await on another actor (#10)" "$(green_ratio one "$row" bridge swift)" "x <= 1.0" ;;
        one:1:restart) verdict "≤ 10 µs a restart (#14)" "$(field "$green" ns_per_restart)" "x <= 10000" " ns" ;;
        two:2:pairs)
            local msgs_one msgs_two
            msgs_one=$(field "${lines[two:$((row - 1)):green]-}" msgs_per_s) msgs_two=$(field "$green" msgs_per_s)
            verdict "≥ 1.8× the msgs/s of --hubs 1 (#9)" "$(ratio "$msgs_two" "$msgs_one")" "x >= 1.8" ;;
        two:2:pingpong) verdict "≤ 1.0× Go GOMAXPROCS=2 (#9)" "$(green_ratio two "$row" pingpong go)" "x <= 1.0" ;;
        two:2:skynet) verdict "≤ 0.5× Go GOMAXPROCS=2 (#9)" "$(green_ratio two "$row" skynet go)" "x <= 0.5" ;;
        *) echo "—" ;;
    esac
}

# versus TABLE ROW WORKLOAD: Green's cost over the best peer's, naming the peer.
versus() {
    local best r
    best=$(best_peer "$1" "$2" "$3")
    r=$(ratio "$(cost "$3" "${lines[$1:$2:green]-}")" "${best% *}")
    if [[ -n $r ]]; then echo "${r}× (${best#* })"; else echo "n/a"; fi
}

# render TABLE RUNTIMES ROWS...: the markdown table.
render() {
    local table=$1 runtimes=$2 row=0 spec hubs workload count rest runtime text rule
    shift 2
    text="| workload |" rule="| --- |"
    if [[ $table == two ]]; then text+=" cores |" rule+=" --- |"; fi
    for runtime in $runtimes; do text+=" $runtime |" rule+=" --- |"; done
    text+=" Green / best peer | target (issue) |"$'\n'"$rule --- | --- |"
    for spec in "$@"; do
        read -r hubs workload count rest <<<"$spec"
        count=$((count / scale))
        text+=$'\n'"| $workload $count${rest:+ $rest} |"
        [[ $table == two ]] && text+=" $hubs |"
        for runtime in $runtimes; do text+=" $(cell "$table" "$row" "$runtime" "$workload") |"; done
        text+=" $(versus "$table" "$row" "$workload") | $(target "$table" "$row" "$hubs" "$workload") |"
        row=$((row + 1))
    done
    echo "$text"
}

# scaling RUNTIME: msgs/s of pairs on two cores over one core, or n/a.
scaling() {
    local r
    r=$(ratio "$(field "${lines[two:1:$1]-}" msgs_per_s)" "$(field "${lines[two:0:$1]-}" msgs_per_s)")
    if [[ -n $r ]]; then echo "${r}×"; else echo "n/a"; fi
}

# raw TABLE ROWS: every line of a table's runs in order, n/a where a run failed.
raw() {
    local table=$1 row runtime
    for ((row = 0; row < $2; row++)); do
        for runtime in green swift go erlang boost; do
            [[ -v "lines[$table:$row:$runtime]" ]] || continue
            echo "${lines[$table:$row:$runtime]:-workload=${workloads[$table:$row]} runtime=$runtime n/a}"
        done
    done
}

build_peers
echo "building green-bench (release) in $package" >&2
# Linked with the Swift runtime statically, as a deployed server usually is: the
# runtime's thread-local lookups (exclusivity state, paid on every switch) are
# cheaper that way. Its own scratch folder keeps it apart from debug builds.
build=(swift build --package-path "$package" -c release --static-swift-stdlib --scratch-path "$package/.build-bench")
"${build[@]}" --product green-bench >&2
bin="$("${build[@]}" --show-bin-path)/green-bench"

load=$(cut -d' ' -f1-3 /proc/loadavg)
measure one "${one_core_rows[@]}"
measure two "${two_core_rows[@]}"

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
versions="$(swift --version 2>/dev/null | head -n 1 | sed 's/ (.*//')"
has_peer go && versions+=", $(go version | cut -d' ' -f3)"
has_peer erlang && versions+=", Erlang/OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().')"
has_peer boost && versions+=", Boost $(awk '/define BOOST_LIB_VERSION/ { gsub(/"/, "", $3); print $3 }' /usr/include/boost/version.hpp)"

mkdir -p "$results"
{
    echo "# green-bench results"
    echo
    echo "Machine: $(uname -m), $(nproc) cores, ${cpu:-unknown CPU}; load average $load at the start (the machine may"
    echo "be shared: compare ratios within this run only). Date: $(date -u '+%Y-%m-%d %H:%M UTC'). $versions."
    ((scale == 1)) || echo "Quick run: counts divided by $scale."
    for n in ${peer_notes[@]+"${peer_notes[@]}"}; do echo "Peer $n."; done
    echo
    echo "## One core (green --hubs 1, GOMAXPROCS=1, +S 1; pinned with taskset -c ${GREEN_BENCH_CPUS_ONE-1})"
    echo
    render one "green swift go erlang boost" "${one_core_rows[@]}"
    echo
    echo "## Two cores (green --hubs N, GOMAXPROCS=N, +S N; pinned with taskset -c ${GREEN_BENCH_CPUS_TWO-0,1})"
    echo
    render two "green swift go erlang" "${two_core_rows[@]}"
    echo
    echo "Pairs from one core to two, msgs/s: green $(scaling green), swift $(scaling swift), go $(scaling go), erlang $(scaling erlang)."
    echo
    echo "Green / best peer is Green's cost over the cheapest peer's in the row: below 1× Green is faster."
    echo "Swift is Swift concurrency (it ignores --hubs: its pool has a thread per core). \"—\": the runtime"
    echo "has no such workload here; n/a: the run failed (stderr says why). Erlang's restart is OTP's"
    echo "supervisor (one_for_one, intensity COUNT + 1, period 5 s): its cost grows with the restarts of"
    echo "the last period. Swift's bridge is a Task's await on another actor, its green-from-async a Task's"
    echo "value. Each cell is the cheapest of ${GREEN_BENCH_REPEAT:-1} run(s)."
    echo
    echo '```'
    raw one ${#one_core_rows[@]}
    raw two ${#two_core_rows[@]}
    echo '```'
} | tee "$results/latest.md"
