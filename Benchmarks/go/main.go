// green-peer-go: green-bench's workloads written the way a Go user would, with goroutines and
// channels, so scripts/bench.sh can set Green beside Go in one run. Each run prints ONE line of
// key=value pairs with exactly green-bench's keys and number formats, and `runtime=go`:
//
//	workload=pingpong runtime=go go_idiom=unbuffered_chan roundtrips=1000000 seconds=0.2100 msgs_per_s=9523810 ns_per_msg=105.0 p50_ns=190 p99_ns=400
//
// Usage (the same command line as green-bench; GOMAXPROCS comes from the environment):
//
//	GOMAXPROCS=1 green-peer-go WORKLOAD [COUNT] [--senders S] [--pairs P] [--buffer B] [--switch gosched|chan]
//
// Workloads: switch, pingpong, oneway, fanin, spawn, ring, skynet (COUNT defaults to 1000000
// leaves), pairs. `--buffer B` gives oneway's and fanin's channel B slots (default 0: unbuffered).
// `--switch chan` hands a token over an unbuffered channel instead of calling runtime.Gosched.
// `--hubs N` is accepted for symmetry with green-bench and sets GOMAXPROCS to N.
// Lines end with `hubs=GOMAXPROCS` where green-bench's green lines end with `hubs=N`: on
// several hubs, and for pairs. Usage errors exit with 64; a workload that fails (a wrong
// skynet sum) exits with 1.
// Standard library only: build with `go build` in this folder (go.mod has no requirements).
package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's monotonic clock (one vDSO call), as green-bench's monotonicNanos.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// report is one output line: ordered key=value pairs, formatted as green-bench's Report does.
type report struct{ fields []string }

func newReport(workload, idiom string) *report {
	r := &report{}
	r.add("workload", workload)
	r.add("runtime", "go")
	r.add("go_idiom", idiom)
	return r
}

func (r *report) add(key, value string) { r.fields = append(r.fields, key+"="+value) }

func (r *report) addInt(key string, value int64) { r.add(key, strconv.FormatInt(value, 10)) }

// addRounded: a rate rounded to an integer, "inf" when not finite.
func (r *report) addRounded(key string, value float64) {
	if math.IsInf(value, 0) || math.IsNaN(value) {
		r.add(key, "inf")
		return
	}
	r.addInt(key, int64(math.Round(value)))
}

// addSeconds: four decimals; under a millisecond, four significant digits.
func (r *report) addSeconds(key string, seconds float64) {
	decimals := 4
	if seconds > 0 && seconds < 0.001 {
		decimals = 3 - int(math.Floor(math.Log10(seconds)))
	}
	r.add(key, strconv.FormatFloat(seconds, 'f', decimals, 64))
}

// addNanoseconds: one decimal.
func (r *report) addNanoseconds(key string, ns float64) {
	r.add(key, strconv.FormatFloat(ns, 'f', 1, 64))
}

// addThroughput: `seconds msgs_per_s ns_per_msg` for messages delivered in seconds.
func (r *report) addThroughput(messages int, seconds float64) {
	r.addSeconds("seconds", seconds)
	r.addRounded("msgs_per_s", float64(messages)/seconds)
	r.addNanoseconds("ns_per_msg", seconds*1e9/float64(messages))
}

func (r *report) String() string { return strings.Join(r.fields, " ") }

func secondsSince(start int64) float64 { return float64(nanotime()-start) / 1e9 }

// options holds the parsed command line.
type options struct {
	workload   string
	count      int
	senders    int
	pairs      int
	buffer     int
	switchKind string
}

func usage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "green-peer-go: "+format+"\n", args...)
	fmt.Fprintln(os.Stderr, "usage: green-peer-go WORKLOAD [COUNT] [--senders S] [--pairs P] [--buffer B] [--switch gosched|chan] [--hubs N]")
	os.Exit(64)
}

func parseCount(text string) int {
	n, err := strconv.Atoi(strings.NewReplacer("_", "", ",", "").Replace(text))
	if err != nil || n <= 0 {
		usage("bad count '%s': needs a positive integer", text)
	}
	return n
}

func isPowerOfTen(n int) bool {
	m := n
	for m >= 10 && m%10 == 0 {
		m /= 10
	}
	return m == 1 && n >= 10
}

func parse(args []string) options {
	o := options{senders: 10, pairs: 2, switchKind: "gosched"}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		value := func() string {
			if i+1 >= len(args) {
				usage("%s needs a value", arg)
			}
			i++
			return args[i]
		}
		switch arg {
		case "--senders":
			o.senders = parseCount(value())
		case "--pairs":
			o.pairs = parseCount(value())
		case "--buffer":
			b, err := strconv.Atoi(value())
			if err != nil || b < 0 {
				usage("bad --buffer: needs an integer ≥ 0")
			}
			o.buffer = b
		case "--switch":
			o.switchKind = value()
			if o.switchKind != "gosched" && o.switchKind != "chan" {
				usage("bad --switch '%s': gosched or chan", o.switchKind)
			}
		case "--hubs":
			runtime.GOMAXPROCS(parseCount(value()))
		case "--runtime":
			if v := value(); v != "go" {
				usage("this program is the go runtime, not '%s'", v)
			}
		default:
			if strings.HasPrefix(arg, "--") {
				usage("unknown option '%s'", arg)
			}
			positional = append(positional, arg)
		}
	}
	if len(positional) == 0 || len(positional) > 2 {
		usage("expected WORKLOAD [COUNT]")
	}
	o.workload = strings.ToLower(positional[0])
	if len(positional) == 2 {
		o.count = parseCount(positional[1])
	} else if o.workload == "skynet" {
		o.count = 1000000
	} else {
		usage("workload '%s' needs a COUNT", o.workload)
	}
	if o.workload == "skynet" && !isPowerOfTen(o.count) {
		usage("bad COUNT '%d': skynet needs a power of ten of at least 10 leaves", o.count)
	}
	return o
}

func main() {
	o := parse(os.Args[1:])
	var r *report
	switch o.workload {
	case "switch":
		r = switching(o.count, o.switchKind)
	case "pingpong":
		r = pingpong(o.count)
	case "oneway":
		r = deliver("oneway", o.count, 1, o.buffer)
	case "fanin":
		r = deliver("fanin", o.count, o.senders, o.buffer)
	case "spawn":
		r = spawnAndPark(o.count)
	case "ring":
		r = ring(o.count, 100)
	case "skynet":
		r = skynetRun(o.count)
	case "pairs":
		r = pairs(o.count, o.pairs)
	default:
		usage("unknown workload '%s'; expected one of: switch, pingpong, oneway, fanin, spawn, ring, skynet, pairs", o.workload)
	}
	// As green-bench's green lines: `hubs=N` last on several hubs and on pairs.
	if procs := runtime.GOMAXPROCS(0); procs > 1 || o.workload == "pairs" {
		r.addInt("hubs", int64(procs))
	}
	fmt.Println(r)
}

// switching: two goroutines each give way n times, by runtime.Gosched (the yield a Go user
// has) or by handing a token over an unbuffered channel (each hand-off one switch).
// `yields` counts both goroutines' switches, as green-bench's does.
func switching(n int, kind string) *report {
	var wg sync.WaitGroup
	wg.Add(2)
	start := nanotime()
	if kind == "gosched" {
		for g := 0; g < 2; g++ {
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					runtime.Gosched()
				}
			}()
		}
	} else {
		a, b := make(chan struct{}), make(chan struct{})
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				a <- struct{}{}
				<-b
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				<-a
				b <- struct{}{}
			}
		}()
	}
	wg.Wait()
	seconds := secondsSince(start)
	idiom := "gosched"
	if kind == "chan" {
		idiom = "unbuffered_chan_handoff"
	}
	r := newReport("switch", idiom)
	r.addInt("yields", int64(2*n))
	r.addSeconds("seconds", seconds)
	r.addNanoseconds("ns_per_yield", seconds*1e9/float64(2*n))
	return r
}

// percentile: the value at percentile p of sorted values (nearest rank).
func percentile(sorted []int64, p float64) int64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// pingpong: the main goroutine sends a ball on one unbuffered channel, a ponger sends it back
// on another; each round trip is timed with one clock read, as green-bench's server does.
func pingpong(n int) *report {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for ball := range ping {
			pong <- ball
		}
	}()
	latencies := make([]int64, n)
	start := nanotime()
	sent := start
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
		now := nanotime()
		latencies[i] = now - sent
		sent = now
	}
	seconds := secondsSince(start)
	close(ping)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	r := newReport("pingpong", "unbuffered_chan")
	r.addInt("roundtrips", int64(n))
	r.addThroughput(2*n, seconds)
	r.addInt("p50_ns", percentile(latencies, 50))
	r.addInt("p99_ns", percentile(latencies, 99))
	return r
}

// deliver: oneway (one sender) and fanin: senders goroutines share out messages into one
// channel read by one receiver goroutine; timed until the receiver has the last one.
func deliver(workload string, messages, senders, buffer int) *report {
	inbox := make(chan int, buffer)
	done := make(chan struct{})
	go func() {
		for i := 0; i < messages; i++ {
			<-inbox
		}
		close(done)
	}()
	runtime.Gosched() // the receiver parks on its channel, as green-bench's sink does
	start := nanotime()
	if senders == 1 {
		for i := 0; i < messages; i++ {
			inbox <- i
		}
	} else {
		for s := 0; s < senders; s++ {
			share := messages / senders
			if s < messages%senders {
				share++
			}
			go func(share int) {
				for i := 0; i < share; i++ {
					inbox <- i
				}
			}(share)
		}
	}
	<-done
	seconds := secondsSince(start)
	idiom := "unbuffered_chan"
	if buffer > 0 {
		idiom = fmt.Sprintf("chan_buffer_%d", buffer)
	}
	r := newReport(workload, idiom)
	r.addInt("msgs", int64(messages))
	if workload == "fanin" {
		r.addInt("senders", int64(senders))
	}
	r.addThroughput(messages, seconds)
	return r
}

// residentBytes: resident memory from /proc/self/statm (pages × page size), 0 if unreadable.
func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// spawnAndPark: n goroutines each check in on a WaitGroup and park on one channel; once all
// have checked in, resident memory is read, the channel is closed and all are waited for.
func spawnAndPark(n int) *report {
	gate := make(chan struct{})
	var parked, finished sync.WaitGroup
	parked.Add(n)
	finished.Add(n)
	before := residentBytes()
	start := nanotime()
	for i := 0; i < n; i++ {
		go func() {
			parked.Done()
			<-gate
			finished.Done()
		}()
	}
	parked.Wait()
	spawnAndPark := secondsSince(start)
	growth := residentBytes() - before
	close(gate)
	finished.Wait()
	total := secondsSince(start)
	r := newReport("spawn", "waitgroup_chan_gate")
	r.addInt("greenlets", int64(n))
	r.addSeconds("spawn_and_park_s", spawnAndPark)
	r.addSeconds("total_s", total)
	r.addNanoseconds("ns_per_spawn", spawnAndPark*1e9/float64(n))
	r.addInt("bytes_per_parked", growth/int64(n))
	return r
}

// ring: size goroutines, each on its own unbuffered channel, pass a token of hops left to the
// next; whoever gets 0 says so, and every channel is closed.
func ring(hops, size int) *report {
	channels := make([]chan int, size)
	for i := range channels {
		channels[i] = make(chan int)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(size)
	for i := 0; i < size; i++ {
		go func(in, out chan int) {
			defer wg.Done()
			for hopsLeft := range in {
				if hopsLeft == 0 {
					close(done)
				} else {
					out <- hopsLeft - 1
				}
			}
		}(channels[i], channels[(i+1)%size])
	}
	runtime.Gosched()
	start := nanotime()
	channels[0] <- hops
	<-done
	seconds := secondsSince(start)
	for _, c := range channels {
		close(c)
	}
	wg.Wait()
	r := newReport("ring", "unbuffered_chan")
	r.addInt("hops", int64(hops))
	r.addSeconds("seconds", seconds)
	r.addNanoseconds("ns_per_hop", seconds*1e9/float64(hops))
	return r
}

// skynet: the classic Go skynet: each goroutine starts ten children that send their sums
// on its unbuffered channel, and sends the total to its parent.
func skynet(parent chan<- int, num, size int) {
	if size == 1 {
		parent <- num
		return
	}
	results := make(chan int)
	step := size / 10
	for i := 0; i < 10; i++ {
		go skynet(results, num+i*step, step)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += <-results
	}
	parent <- sum
}

func skynetActors(leaves int) int64 {
	var total int64
	for level := leaves; level >= 1; level /= 10 {
		total += int64(level)
	}
	return total
}

func skynetRun(leaves int) *report {
	result := make(chan int)
	start := nanotime()
	go skynet(result, 0, leaves)
	sum := <-result
	seconds := secondsSince(start)
	expected := leaves * (leaves - 1) / 2
	if sum != expected {
		fmt.Fprintf(os.Stderr, "green-peer-go: skynet summed to %d, expected %d\n", sum, expected)
		os.Exit(1)
	}
	r := newReport("skynet", "chan_tree")
	r.addInt("actors", skynetActors(leaves))
	r.addInt("leaves", int64(leaves))
	r.addSeconds("seconds", seconds)
	r.addInt("sum", int64(sum))
	return r
}

// pairs: count independent ping-pong pairs (two goroutines, two unbuffered channels each)
// share out count round trips; timed until the last pair is done.
func pairs(count, pairCount int) *report {
	var wg sync.WaitGroup
	wg.Add(pairCount)
	start := nanotime()
	for p := 0; p < pairCount; p++ {
		share := count / pairCount
		if p < count%pairCount {
			share++
		}
		ping, pong := make(chan int), make(chan int)
		go func() {
			for ball := range ping {
				pong <- ball
			}
		}()
		go func(share int) {
			defer wg.Done()
			for i := 0; i < share; i++ {
				ping <- i
				<-pong
			}
			close(ping)
		}(share)
	}
	wg.Wait()
	seconds := secondsSince(start)
	r := newReport("pairs", "unbuffered_chan")
	r.addInt("pairs", int64(pairCount))
	r.addInt("roundtrips", int64(count))
	r.addThroughput(2*count, seconds)
	return r
}
