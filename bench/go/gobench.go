// Go workloads for bench/go_bench.sh, each printing "MODE N us_per_op
// checksum" like tests/guests/threadbench.c:
//
//	gobench start            # nothing: the run's wall time is start to exit
//	gobench gzip MIB         # gzip MIB MiB of generated text, split over
//	                         # GOMAXPROCS goroutines (one stream each)
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// chunk: 1 MiB of text that compresses about as well as source code does.
func chunk(seed uint32) []byte {
	words := []string{"lightvm", "guest", "kernel", "page", "table", "vcpu", "exit", "thread",
		"futex", "epoll", "socket", "file", "monitor", "snapshot", "the", "a", "of", "and"}
	var b bytes.Buffer
	x := seed
	for b.Len() < 1<<20 {
		x = x*1664525 + 1013904223
		b.WriteString(words[(x>>16)%uint32(len(words))])
		if x%7 == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:1<<20]
}

func gzipMiB(mib int, seed uint32) uint32 {
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
	for i := 0; i < mib; i++ {
		w.Write(chunk(seed + uint32(i)))
	}
	w.Close()
	return crc32.ChecksumIEEE(out.Bytes())
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "start" {
		fmt.Println("start 1 0 0")
		return
	}
	mib, err := strconv.Atoi(os.Args[2])
	if os.Args[1] != "gzip" || err != nil || mib < 1 {
		fmt.Fprintln(os.Stderr, "usage: gobench start | gzip MIB")
		os.Exit(2)
	}
	workers := runtime.GOMAXPROCS(0)
	t0 := time.Now()
	sums := make([]uint32, workers)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			share := mib / workers
			if k < mib%workers {
				share++
			}
			sums[k] = gzipMiB(share, uint32(k)<<20)
		}(k)
	}
	wg.Wait()
	var sum uint32
	for _, s := range sums {
		sum ^= s
	}
	us := float64(time.Since(t0).Microseconds()) / float64(mib)
	fmt.Printf("gzip %d %.1f %08x\n", mib, us, sum)
}
