// C++ threads (issue 10): std::thread, std::async, std::mutex,
// std::condition_variable, std::atomic, thread_local, a producer/consumer
// queue. Deterministic output: compared with a native run.
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <queue>
#include <thread>
#include <vector>

thread_local int t_id = -1;

int main() {
    std::atomic<long> sum{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < 8; ++i)
        workers.emplace_back([i, &sum] {
            t_id = i;
            for (int k = 0; k < 100000; ++k)
                sum += 1;
            sum += t_id * 0;
        });
    for (auto& w : workers)
        w.join();
    std::printf("atomic sum %ld\n", sum.load());

    std::vector<std::future<long>> parts;
    for (long base = 0; base < 4; ++base)
        parts.push_back(std::async(std::launch::async, [base] {
            long s = 0;
            for (long k = base * 250000; k < (base + 1) * 250000; ++k)
                s += k;
            return s;
        }));
    long total = 0;
    for (auto& p : parts)
        total += p.get();
    std::printf("async sum %ld\n", total);

    std::mutex m;
    std::condition_variable cv;
    std::queue<int> q;
    bool done = false;
    long consumed = 0;
    std::thread consumer([&] {
        std::unique_lock<std::mutex> lk(m);
        for (;;) {
            cv.wait(lk, [&] { return !q.empty() || done; });
            while (!q.empty()) {
                consumed += q.front();
                q.pop();
            }
            if (done)
                return;
        }
    });
    for (int i = 1; i <= 10000; ++i) {
        std::lock_guard<std::mutex> lk(m);
        q.push(i);
        cv.notify_one();
    }
    {
        std::lock_guard<std::mutex> lk(m);
        done = true;
    }
    cv.notify_one();
    consumer.join();
    std::printf("queue consumed %ld\n", consumed);
    std::printf("main thread_local %d\n", t_id);
    return 0;
}
