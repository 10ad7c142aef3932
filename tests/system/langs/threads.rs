// Rust threads (issue 10): std::thread, std::sync::{Arc, Mutex, mpsc,
// Condvar, Barrier}, std::time. Deterministic output: compared with a
// native run.
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..10000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    println!("mutex counter {}", *counter.lock().unwrap());

    let (tx, rx) = mpsc::channel();
    for id in 0..4u64 {
        let tx = tx.clone();
        thread::spawn(move || {
            for k in 0..1000u64 {
                tx.send(id * 1000 + k).unwrap();
            }
        });
    }
    drop(tx);
    let total: u64 = rx.iter().sum();
    println!("mpsc total {}", total);

    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = Arc::clone(&pair);
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        let (l, cv) = &*p2;
        *l.lock().unwrap() = true;
        cv.notify_one();
    });
    let start = Instant::now();
    let (l, cv) = &*pair;
    let mut ready = l.lock().unwrap();
    while !*ready {
        ready = cv.wait(ready).unwrap();
    }
    t.join().unwrap();
    println!("condvar woke after the sleep: {}", start.elapsed() >= Duration::from_millis(15));

    let barrier = Arc::new(Barrier::new(4));
    let leaders: usize = (0..4)
        .map(|_| {
            let b = Arc::clone(&barrier);
            thread::spawn(move || b.wait().is_leader())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap() as usize)
        .sum();
    println!("barrier leaders {}", leaders);
}
