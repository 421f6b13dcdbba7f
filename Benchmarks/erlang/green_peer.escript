#!/usr/bin/env escript
%% green_peer.escript: green-bench's workloads written the way an Erlang user would, with
%% processes and messages, so scripts/bench.sh can set Green beside Erlang in one run. Each run
%% prints ONE line of key=value pairs with exactly green-bench's keys and number formats, and
%% `runtime=erlang`:
%%
%%   workload=pingpong runtime=erlang roundtrips=1000000 seconds=0.6500 msgs_per_s=3076923 ns_per_msg=325.0 p50_ns=600 p99_ns=900
%%
%% Usage (the same command line as green-bench; schedulers come from ERL_FLAGS, which escript
%% passes to the emulator, since a `%%!` line can't be set per run):
%%
%%   ERL_FLAGS="+S 1 +P 2000000" escript green_peer.escript WORKLOAD [COUNT] [--senders S] [--pairs P] [--hubs N]
%%
%% (+P: skynet's million leaves and a big spawn need more than the default 262,144 processes;
%% the script says so rather than wait forever for a child that could not be spawned.)
%%
%% Workloads: switch (two processes calling erlang:yield/0), pingpong, oneway, fanin, spawn,
%% ring, skynet (COUNT defaults to 1000000 leaves), pairs, and restart (COUNT crash and
%% restart cycles of a one_for_one supervisor's permanent child: `restarts seconds
%% ns_per_restart`, as issue 14's green-bench restart). `--hubs N` sets schedulers_online
%% to N (at most the +S count). Lines end with `hubs=N` (schedulers online) where
%% green-bench's green lines do: on several hubs, and for pairs. Usage errors exit with 64; a
%% failed workload exits with 1.
-module(green_peer).
-mode(compile).
-export([main/1, init/1, start_crasher/1]).

main(Args) ->
    %% The supervisor reports every child's crash; nobody reads them here (restart).
    logger:set_primary_config(level, none),
    {Workload, Count, Opts} = parse(Args),
    Line = try run(Workload, Count, Opts)
           catch throw:{failed, Why} ->
                   io:format(standard_error, "green_peer: ~s~n", [Why]),
                   halt(1)
           end,
    %% As green-bench's green lines: `hubs=N` last on several hubs and on pairs.
    Hubs = erlang:system_info(schedulers_online),
    HubsPair = [[" hubs=", int(Hubs)] || Hubs > 1 orelse Workload =:= "pairs"],
    io:put_chars([Line, HubsPair, $\n]),
    halt(0).

%% ---- command line ----

usage(Format, Args) ->
    io:format(standard_error, "green_peer: " ++ Format ++ "~n", Args),
    io:format(standard_error, "usage: green_peer.escript WORKLOAD [COUNT] [--senders S] [--pairs P] [--hubs N]~n", []),
    halt(64).

parse_count(Text) ->
    Digits = [C || C <- Text, C =/= $_, C =/= $,],
    case catch list_to_integer(Digits) of
        N when is_integer(N), N > 0 -> N;
        _ -> usage("bad count '~s': needs a positive integer", [Text])
    end.

is_power_of_ten(N) when N >= 10 -> power_of_ten(N);
is_power_of_ten(_) -> false.
power_of_ten(1) -> true;
power_of_ten(N) when N rem 10 =:= 0 -> power_of_ten(N div 10);
power_of_ten(_) -> false.

parse(Args) -> parse(Args, [], #{senders => 10, pairs => 2}).

parse(["--senders", V | Rest], Pos, Opts) -> parse(Rest, Pos, Opts#{senders => parse_count(V)});
parse(["--pairs", V | Rest], Pos, Opts) -> parse(Rest, Pos, Opts#{pairs => parse_count(V)});
parse(["--hubs", V | Rest], Pos, Opts) ->
    N = parse_count(V),
    Max = erlang:system_info(schedulers),
    N =< Max orelse usage("--hubs ~b: only ~b schedulers (raise +S in ERL_FLAGS)", [N, Max]),
    erlang:system_flag(schedulers_online, N),
    parse(Rest, Pos, Opts);
parse(["--runtime", "erlang" | Rest], Pos, Opts) -> parse(Rest, Pos, Opts);
parse(["--" ++ _ = Option | _], _, _) -> usage("unknown option or missing value: '~s'", [Option]);
parse([Arg | Rest], Pos, Opts) -> parse(Rest, Pos ++ [Arg], Opts);
parse([], [Name], Opts) ->
    case string:lowercase(Name) of
        "skynet" -> parse([], [Name, "1000000"], Opts);
        _ -> usage("workload '~s' needs a COUNT", [Name])
    end;
parse([], [Name, CountText], Opts) ->
    Workload = string:lowercase(Name),
    lists:member(Workload, workloads())
        orelse usage("unknown workload '~s'; expected one of: ~s", [Name, lists:join(", ", workloads())]),
    Count = parse_count(CountText),
    Workload =/= "skynet" orelse is_power_of_ten(Count)
        orelse usage("bad COUNT '~s': skynet needs a power of ten of at least 10 leaves", [CountText]),
    %% Past the process limit spawn fails in a child and the run would wait forever.
    Processes = case Workload of
                    "skynet" -> skynet_actors(Count);
                    "spawn" -> Count;
                    _ -> 0
                end,
    Limit = erlang:system_info(process_limit),
    Processes + 1000 =< Limit
        orelse usage("~s ~b needs ~b processes, above the limit of ~b: raise it with +P in ERL_FLAGS",
                     [Workload, Count, Processes, Limit]),
    {Workload, Count, Opts};
parse([], _, _) -> usage("expected WORKLOAD [COUNT]", []).

workloads() -> ["switch", "pingpong", "oneway", "fanin", "spawn", "ring", "skynet", "pairs", "restart"].

run("switch", N, _) -> switching(N);
run("pingpong", N, _) -> pingpong(N);
run("oneway", N, _) -> deliver("oneway", N, 1);
run("fanin", N, #{senders := S}) -> deliver("fanin", N, S);
run("spawn", N, _) -> spawn_and_park(N);
run("ring", N, _) -> ring(N, 100);
run("skynet", N, _) -> skynet_run(N);
run("pairs", N, #{pairs := P}) -> pairs(N, P);
run("restart", N, _) -> restart(N).

%% ---- the line, formatted as green-bench's Report ----

line(Workload, Pairs) ->
    lists:join(" ", [[K, $=, V] || {K, V} <- [{"workload", Workload}, {"runtime", "erlang"} | Pairs]]).

int(N) -> integer_to_list(N).
rounded(X) -> integer_to_list(round(X)).
%% Four decimals; under a millisecond, four significant digits.
secs(S) when S > 0, S < 0.001 -> io_lib:format("~.*f", [3 - floor(math:log10(S)), float(S)]);
secs(S) -> io_lib:format("~.4f", [float(S)]).
ns(X) -> io_lib:format("~.1f", [float(X)]).

throughput(Messages, Seconds) ->
    [{"seconds", secs(Seconds)}, {"msgs_per_s", rounded(Messages / Seconds)},
     {"ns_per_msg", ns(Seconds * 1.0e9 / Messages)}].

now_ns() -> erlang:monotonic_time(nanosecond).
since(Start) -> (now_ns() - Start) / 1.0e9.

%% ---- workloads ----

%% switch: two processes each call erlang:yield/0 N times; yields counts both.
switching(N) ->
    Self = self(),
    Start = now_ns(),
    Yielder = fun() -> yield_times(N), Self ! done end,
    spawn(Yielder), spawn(Yielder),
    receive done -> ok end,
    receive done -> ok end,
    Seconds = since(Start),
    line("switch", [{"yields", int(2 * N)}, {"seconds", secs(Seconds)},
                    {"ns_per_yield", ns(Seconds * 1.0e9 / (2 * N))}]).

yield_times(0) -> ok;
yield_times(N) -> erlang:yield(), yield_times(N - 1).

%% pingpong: this process sends a ball, a ponger sends it back; each round trip is timed
%% with one clock read, as green-bench's server does, into an atomics array (off the heap).
pingpong(N) ->
    Self = self(),
    Ponger = spawn(fun() -> pong(Self) end),
    Latencies = atomics:new(N, [{signed, false}]),
    Start = now_ns(),
    ping(Ponger, 1, N, Start, Latencies),
    Seconds = since(Start),
    Ponger ! stop,
    Sorted = lists:sort([atomics:get(Latencies, I) || I <- lists:seq(1, N)]),
    line("pingpong", [{"roundtrips", int(N)} | throughput(2 * N, Seconds)] ++
             [{"p50_ns", int(percentile(Sorted, N, 50))}, {"p99_ns", int(percentile(Sorted, N, 99))}]).

ping(_, I, N, _, _) when I > N -> ok;
ping(Ponger, I, N, Sent, Latencies) ->
    Ponger ! I,
    receive I -> ok end,
    Now = now_ns(),
    atomics:put(Latencies, I, Now - Sent),
    ping(Ponger, I + 1, N, Now, Latencies).

pong(Pinger) ->
    receive
        stop -> ok;
        Ball -> Pinger ! Ball, pong(Pinger)
    end.

%% Nearest rank.
percentile(Sorted, N, P) -> lists:nth(max(1, ceil(P / 100 * N)), Sorted).

%% oneway (one sender: this process) and fanin (Senders processes share the messages out)
%% into one sink's mailbox; timed until the sink has the last one.
deliver(Workload, Messages, Senders) ->
    Self = self(),
    Sink = spawn(fun() -> Self ! ready, sink(Messages), Self ! done end),
    receive ready -> ok end,
    Start = now_ns(),
    case Senders of
        1 -> send_times(Sink, Messages);
        _ -> [spawn(fun() -> send_times(Sink, share(Messages, Senders, S)) end)
              || S <- lists:seq(0, Senders - 1)]
    end,
    receive done -> ok end,
    Seconds = since(Start),
    SendersPair = [{"senders", int(Senders)} || Workload =:= "fanin"],
    line(Workload, [{"msgs", int(Messages)}] ++ SendersPair ++ throughput(Messages, Seconds)).

share(Total, Parts, Index) when Index < Total rem Parts -> Total div Parts + 1;
share(Total, Parts, _) -> Total div Parts.

sink(0) -> ok;
sink(N) -> receive _ -> sink(N - 1) end.

send_times(_, 0) -> ok;
send_times(To, N) -> To ! N, send_times(To, N - 1).

%% resident memory: /proc/self/statm's second field (pages) times the page size (4096).
resident_bytes() ->
    {ok, Statm} = file:read_file("/proc/self/statm"),
    [_, Pages | _] = binary:split(Statm, <<" ">>, [global]),
    binary_to_integer(Pages) * 4096.

%% spawn: N processes each count themselves parked (a counters slot, no message) and wait for
%% `go`; once all are counted, resident memory is read, each gets `go` and all are waited for.
spawn_and_park(N) ->
    Counts = counters:new(2, [write_concurrency]),
    Before = resident_bytes(),
    Start = now_ns(),
    Pids = spawn_parked(N, Counts, []),
    wait_count(Counts, 1, N),
    Parked = since(Start),
    Growth = resident_bytes() - Before,
    [Pid ! go || Pid <- Pids],
    wait_count(Counts, 2, N),
    Total = since(Start),
    line("spawn", [{"greenlets", int(N)}, {"spawn_and_park_s", secs(Parked)}, {"total_s", secs(Total)},
                   {"ns_per_spawn", ns(Parked * 1.0e9 / N)}, {"bytes_per_parked", int(Growth div N)}]).

spawn_parked(0, _, Pids) -> Pids;
spawn_parked(N, Counts, Pids) ->
    Pid = spawn(fun() ->
                        counters:add(Counts, 1, 1),
                        receive go -> counters:add(Counts, 2, 1) end
                end),
    spawn_parked(N - 1, Counts, [Pid | Pids]).

%% Lets the others run until slot Index reaches N.
wait_count(Counts, Index, N) ->
    case counters:get(Counts, Index) >= N of
        true -> ok;
        false -> erlang:yield(), wait_count(Counts, Index, N)
    end.

%% ring: Size processes pass a token of hops left to the next; whoever gets 0 says so.
ring(Hops, Size) ->
    Self = self(),
    Nodes = [spawn(fun() -> receive {next, Next} -> ring_node(Self, Next) end end)
             || _ <- lists:seq(1, Size)],
    [First | _] = Nodes,
    [Node ! {next, Next} || {Node, Next} <- lists:zip(Nodes, tl(Nodes) ++ [First])],
    Start = now_ns(),
    First ! Hops,
    receive done -> ok end,
    Seconds = since(Start),
    [Node ! stop || Node <- Nodes],
    line("ring", [{"hops", int(Hops)}, {"seconds", secs(Seconds)}, {"ns_per_hop", ns(Seconds * 1.0e9 / Hops)}]).

ring_node(Main, Next) ->
    receive
        stop -> ok;
        0 -> Main ! done, ring_node(Main, Next);
        HopsLeft -> Next ! HopsLeft - 1, ring_node(Main, Next)
    end.

%% skynet: each process spawns ten children that send their sums to it, and sends the total
%% to its parent.
skynet(Parent, Num, 1) -> Parent ! Num;
skynet(Parent, Num, Size) ->
    Self = self(),
    Step = Size div 10,
    [spawn(fun() -> skynet(Self, Num + I * Step, Step) end) || I <- lists:seq(0, 9)],
    Parent ! collect(10, 0).

collect(0, Sum) -> Sum;
collect(N, Sum) -> receive Part -> collect(N - 1, Sum + Part) end.

skynet_run(Leaves) ->
    Self = self(),
    Start = now_ns(),
    spawn(fun() -> skynet(Self, 0, Leaves) end),
    Sum = receive S -> S end,
    Seconds = since(Start),
    Expected = Leaves * (Leaves - 1) div 2,
    Sum =:= Expected orelse throw({failed, io_lib:format("skynet summed to ~b, expected ~b", [Sum, Expected])}),
    line("skynet", [{"actors", int(skynet_actors(Leaves))}, {"leaves", int(Leaves)},
                    {"seconds", secs(Seconds)}, {"sum", int(Sum)}]).

skynet_actors(0) -> 0;
skynet_actors(Level) -> Level + skynet_actors(Level div 10).

%% pairs: P independent ping-pong pairs share out COUNT round trips; timed until the last
%% pair is done.
pairs(Count, P) ->
    Self = self(),
    Start = now_ns(),
    [spawn(fun() ->
                   Pinger = self(),
                   Ponger = spawn(fun() -> pong(Pinger) end),
                   rally(Ponger, share(Count, P, I)),
                   Ponger ! stop,
                   Self ! done
           end) || I <- lists:seq(0, P - 1)],
    [receive done -> ok end || _ <- lists:seq(1, P)],
    Seconds = since(Start),
    line("pairs", [{"pairs", int(P)}, {"roundtrips", int(Count)} | throughput(2 * Count, Seconds)]).

rally(_, 0) -> ok;
rally(Ponger, N) ->
    Ponger ! N,
    receive N -> rally(Ponger, N - 1) end.

%% restart: a one_for_one supervisor with one permanent child; the child tells this process
%% it started, this process tells it to crash, the supervisor starts it again: COUNT cycles.
%% Intensity is COUNT + 1 so the supervisor never gives up; the period is OTP's default, 5 s
%% (the supervisor walks its restart history of the last period on every restart).
restart(N) ->
    process_flag(trap_exit, true),
    {ok, Sup} = supervisor:start_link(?MODULE, {self(), N}),
    First = receive {started, P} -> P end,
    Start = now_ns(),
    crash_times(First, N),
    Seconds = since(Start),
    unlink(Sup),
    exit(Sup, shutdown),
    line("restart", [{"restarts", int(N)}, {"seconds", secs(Seconds)},
                     {"ns_per_restart", ns(Seconds * 1.0e9 / N)}]).

crash_times(_, 0) -> ok;
crash_times(Child, N) ->
    Child ! crash,
    receive {started, Next} -> crash_times(Next, N - 1) end.

%% supervisor callback
init({Bench, N}) ->
    {ok, {#{strategy => one_for_one, intensity => N + 1, period => 5},
          [#{id => crasher, start => {?MODULE, start_crasher, [Bench]}, restart => permanent}]}}.

start_crasher(Bench) ->
    Pid = spawn_link(fun() ->
                             Bench ! {started, self()},
                             receive crash -> exit(crash) end
                     end),
    {ok, Pid}.
