// A net/http server and client in one static Go program (issue 14): the
// server listens on the VM's loopback (127.0.0.1, port from the kernel),
// 8 client goroutines make 50 requests each over keep-alive connections,
// and one request goes through a fresh connection. Prints a summary that
// is the same natively and in lightvm.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	var served int64
	mux := http.NewServeMux()
	mux.HandleFunc("/double/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Path[len("/double/"):])
		atomic.AddInt64(&served, 1)
		fmt.Fprintf(w, "%d", 2*n)
	})
	go http.Serve(ln, mux)
	base := "http://" + ln.Addr().String()

	var wrong int64
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{}
			for i := 0; i < 50; i++ {
				n := c*1000 + i
				resp, err := client.Get(base + "/double/" + strconv.Itoa(n))
				if err != nil {
					atomic.AddInt64(&wrong, 1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != strconv.Itoa(2*n) {
					atomic.AddInt64(&wrong, 1)
				}
			}
		}(c)
	}
	wg.Wait()
	tr := &http.Transport{DisableKeepAlives: true}
	resp, err := (&http.Client{Transport: tr}).Get(base + "/double/21")
	fresh := "failed"
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fresh = string(b)
	}
	fmt.Printf("requests served: %d, wrong answers: %d, fresh connection: %s\n", atomic.LoadInt64(&served), wrong, fresh)
	if wrong != 0 || fresh != "42" {
		os.Exit(1)
	}
}
