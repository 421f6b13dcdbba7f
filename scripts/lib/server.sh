# One server at a time, started, measured and stopped: shared by the scripts
# that benchmark or profile a server (bench-io.sh, bench-tls.sh, profile-tls.sh).
# Source it. It defines `server_pid`, `stop_server`, `start_server`, `hz` and
# `cpu_ticks`; the caller sets its own EXIT trap (calling stop_server).

server_pid=""

# stop_server: ends the running server, if any (SIGTERM), and waits for it.
stop_server() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

# start_server PORT COMMAND...: runs COMMAND in the background (prefix it with
# `taskset -c N` to pin it) and waits for it to listen on PORT, for up to 60 s
# (a server under valgrind starts slowly). Returns 1, saying why, when PORT is
# already taken by another program, or the server ends or never listens.
start_server() {
    local port=$1
    shift
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is taken by another program" >&2
        return 1
    fi
    "$@" >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "server '$*' did not open port $port" >&2
    return 1
}

hz=$(getconf CLK_TCK)
# cpu_ticks PID: user + system CPU ticks of a process so far (0 once it has gone).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
