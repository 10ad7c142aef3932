package main

import (
	"fmt"
	"sync"
	"time"
)

func main() {
	var wg sync.WaitGroup
	ch := make(chan int, 100)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); s := 0; for j := 0; j < 100000; j++ { s += j % (i + 1) }; ch <- s }(i)
	}
	wg.Wait()
	close(ch)
	t := 0
	for v := range ch { t += v }
	time.Sleep(10 * time.Millisecond)
	fmt.Println("sum", t)
}
