#!/usr/bin/env escript
%%! +S 1 +A 0
%% The peer of `green-bench restart N`: a one_for_one supervisor restarts its
%% permanent child N times. Each cycle sends the child a message it crashes on
%% (exit(crash)) and waits for its successor, which announces itself from its
%% start function. Intensity N + 1 within 3600 s, as green-bench sets it, so
%% the supervisor keeps every restart in its history. Crash reports are not
%% logged (the logger's level is none), as Green logs none either.
%%
%%   escript Benchmarks/erlang/restart.escript 100000
%%
%% Prints one line as green-bench does:
%% workload=restart runtime=erlang restarts=N seconds=S ns_per_restart=X cpu_ns_per_restart=C
%% (C: CPU time of the VM, one scheduler, in milliseconds' resolution).
-module(restart).
-behaviour(supervisor).
-mode(compile).
-export([main/1, init/1, start_child/1, child/0]).

main([Count]) ->
    N = list_to_integer(Count),
    logger:set_primary_config(level, none),
    process_flag(trap_exit, true),
    {ok, _Sup} = supervisor:start_link(?MODULE, {self(), N}),
    First = receive {started, P} -> P end,
    {Cpu0, _} = erlang:statistics(runtime),
    T0 = erlang:monotonic_time(nanosecond),
    cycle(N, First),
    T1 = erlang:monotonic_time(nanosecond),
    {Cpu1, _} = erlang:statistics(runtime),
    Ns = T1 - T0,
    io:format("workload=restart runtime=erlang restarts=~b seconds=~.4f ns_per_restart=~.1f cpu_ns_per_restart=~.1f~n",
              [N, Ns / 1.0e9, Ns / N, (Cpu1 - Cpu0) * 1.0e6 / N]);
main(_) ->
    io:format(standard_error, "usage: restart.escript COUNT~n", []),
    halt(64).

cycle(0, _) -> ok;
cycle(I, Child) ->
    Child ! crash,
    receive {started, Next} -> cycle(I - 1, Next) end.

init({Driver, N}) ->
    {ok, {#{strategy => one_for_one, intensity => N + 1, period => 3600},
          [#{id => crasher, start => {?MODULE, start_child, [Driver]},
             restart => permanent, shutdown => brutal_kill}]}}.

start_child(Driver) ->
    Pid = spawn_link(?MODULE, child, []),
    Driver ! {started, Pid},
    {ok, Pid}.

child() ->
    receive crash -> exit(crash) end.
