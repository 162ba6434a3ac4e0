// pan: -DSAFETY -DCOLLAPSE | -m1000000
// The chunk hand-over of the publish-subscribe service (PublishSubscribe/*.swift): the pool's
// tagged free list, each chunk's holders word (one bit per port), the queues from each publisher
// to each subscriber (the publisher moves the head, then marks the entry with its position + 1; a
// taker finds an entry by its mark, without reading the head; the publisher reads the tail only
// when the queue looks full; the tail moves by a store of the subscriber under block, by a
// compare-and-swap of the subscriber or of the publisher discarding the oldest under
// discard-oldest), and the sleep and wake-up protocol of a subscriber waiting
// for samples and of a publisher waiting for room.
//
// The accesses this protocol's correctness rests on are sequentially consistent in the Swift code
// (a queue's head and mark stores, followed by a full fence, and its tail store or exchange, each side's sleeping flag store and load, the queue
// counts of the re-checks), and the pool's words are read-modify-writes, so Spin's interleavings
// are exact for them; payload and slot contents are published by the release and acquire pairs
// around them. Delivery happens under the service's lock (here a lock bit).
//
// What it checks, for every interleaving, with P publishers each sending M samples to S
// subscribers through queues of CAP entries, under both overflow policies (chosen at the start;
// several publishers taking from the free list at once are checked in ChunkPool.pml):
// no chunk is taken from the pool while it has holders, and the pool never runs dry (the chunk
// count is the one ServiceConfiguration.chunkCount gives, without the publishers' caches: a
// publisher here takes one chunk at a time; batches taken into a cache are checked in ChunkPool.pml); every subscriber receives each
// publisher's samples intact and in order (all of them under block, an increasing sequence
// ending in the last under discard-oldest); a queue's tail never passes its head (what a reader
// of both, a sleeper's re-check or the statistics, would report as corrupted); nobody is left asleep while there is work (a lost
// wake-up is an invalid end state); at the end every chunk is back in the pool, on the free list.
//
// Each part is needed: without the subscriber's re-check of its queues after the sleep
// announcement (a lost wake-up), or with the publisher discarding by a plain load and store of
// the tail instead of the compare-and-swap (an entry taken twice), the verifier finds an error.

#define P 1
#define S 2
#define M 2
#define CAP 1
#define N 5          /* P * (history 0 + 1 + cache 0) + S * P * CAP + S * CAP */
#define EMPTY 255
#define PUBBIT(p) (1 << (S + p))
#define QUEUE(s, p) ((s) * P + (p))

byte top = 0;        // the free list's head: its top chunk
byte tag = 0;        //   and its tag, bumped by every change (one word in the code)
byte next[N];
byte holders[N];
byte data[N];        // what a chunk carries: publisher * 16 + sample number

byte qhead[S * P];
byte qtail[S * P];
byte qslot[S * P * CAP];
byte qmark[S * P * CAP];  // an entry's position + 1 once written

bit subSleeping[S];
byte subWake[S];
bit subAsleep[S];    // queued in futex_wait on its wake word
bit pubSleeping[P];
byte pubWake[P];
bit pubAsleep[P];

bit lock;
bit discard;         // the overflow policy: 0 block, 1 discard-oldest
byte done;

inline futexWait(word, expected, asleep) {
    atomic { if :: word == expected -> asleep = 1 :: else -> skip fi };
    (asleep == 0)
}

inline futexWake(word, asleep) {
    atomic { word++; asleep = 0 }
}

// Only the waker that takes the sleeper's flag back (1 to 0) wakes it: one system call per sleep.
inline wakeSleeper(flag, word, asleep) {
    if
    :: atomic { flag == 1 -> flag = 0 }; futexWake(word, asleep)
    :: else -> skip
    fi
}

inline put(c) {
    do
    :: atomic { t = top; g = tag };
       next[c] = t;
       if
       :: atomic { top == t && tag == g -> top = c; tag = g + 1 }; break
       :: atomic { !(top == t && tag == g) }
       fi
    od
}

inline release(c, b) {
    atomic { old = holders[c]; holders[c] = old & ~(b) };
    if
    :: (old & (b)) != 0 && (old & ~(b)) == 0 -> put(c)
    :: else -> skip
    fi
}

inline take(c, b) {
    do
    :: atomic { t = top; g = tag };
       assert(t != EMPTY);                 // the pool never runs dry
       nx = next[t];
       if
       :: atomic { top == t && tag == g -> top = nx; tag = g + 1 }; break
       :: atomic { !(top == t && tag == g) }
       fi
    od;
    c = t;
    atomic { assert(holders[c] == 0); holders[c] = b }
}

// Takes the oldest entry of queue q into c, or sets c to EMPTY when there is none: the entry at
// the tail is there once it carries its mark. The sole taker (block) moves the tail with a store.
inline takeEntry(q, c) {
    do
    :: tl = qtail[q];
       m = qmark[q * CAP + tl % CAP];
       if
       :: m != tl + 1 ->
          if
          :: discard && qtail[q] != tl -> skip   // another taker moved the tail: again
          :: else -> c = EMPTY; break
          fi
       :: else ->
          e = qslot[q * CAP + tl % CAP];
          if
          :: !discard -> qtail[q] = tl + 1; assert(qtail[q] <= qhead[q]); c = e; break
          :: atomic { discard && qtail[q] == tl -> qtail[q] = tl + 1 }; assert(qtail[q] <= qhead[q]); c = e; break
          :: atomic { discard && qtail[q] != tl }
          fi
       fi
    od
}

proctype publisher(byte p) {
    byte c, t, g, nx, old, h, tl, e, m, s, blocked, w, sample = 1;
    byte tailSeen[S];
    do
    :: sample > M -> break
    :: else ->
       take(c, PUBBIT(p));
       data[c] = p * 16 + sample;
retry:
       atomic { lock == 0 -> lock = 1 };
       blocked = EMPTY;
       s = 0;
       do
       :: s == S -> break
       :: else ->
          // The tail it read last, reloaded only when the queue looks full.
          if
          :: qhead[QUEUE(s, p)] - tailSeen[s] >= CAP -> tailSeen[s] = qtail[QUEUE(s, p)]
          :: else -> skip
          fi;
          if
          :: qhead[QUEUE(s, p)] - tailSeen[s] >= CAP ->
             if
             :: discard -> takeEntry(QUEUE(s, p), e);
                if :: e != EMPTY -> release(e, 1 << s) :: else -> skip fi
             :: else -> blocked = s; break
             fi
          :: else -> skip
          fi;
          s++
       od;
       if
       :: blocked != EMPTY ->
          lock = 0;
          // Wait for room: announce, re-check, sleep on the wake word read before the announcement.
          w = pubWake[p];
          pubSleeping[p] = 1;
          if
          :: qhead[QUEUE(blocked, p)] - qtail[QUEUE(blocked, p)] >= CAP -> futexWait(pubWake[p], w, pubAsleep[p])
          :: else -> skip
          fi;
          pubSleeping[p] = 0;
          goto retry
       :: else -> skip
       fi;
       holders[c] = (1 << S) - 1;          // no history: the publisher keeps no bit once it sends
       s = 0;
       do
       :: s == S -> break
       :: else ->
          qslot[QUEUE(s, p) * CAP + qhead[QUEUE(s, p)] % CAP] = c;
          qhead[QUEUE(s, p)]++;
          qmark[QUEUE(s, p) * CAP + (qhead[QUEUE(s, p)] - 1) % CAP] = qhead[QUEUE(s, p)];
          s++
       od;
       lock = 0;
       s = 0;
       do
       :: s == S -> break
       :: else ->
          wakeSleeper(subSleeping[s], subWake[s], subAsleep[s]);
          s++
       od;
       sample++
    od;
    done++
}

proctype subscriber(byte s) {
    byte c, t, g, old, h, tl, e, m, p, w, got, finished;
    byte expected[P];
    p = 0;
    do :: p == P -> break :: else -> expected[p] = 1; p++ od;
    do
    :: finished == P -> break
    :: else ->
       got = 0;
       p = 0;
       do
       :: p == P -> break
       :: else ->
          takeEntry(QUEUE(s, p), c);
          if
          :: c != EMPTY ->
             got = 1;
             wakeSleeper(pubSleeping[p], pubWake[p], pubAsleep[p]);
             assert(holders[c] & (1 << s));
             assert(data[c] / 16 == p);
             if
             :: discard -> assert(data[c] % 16 >= expected[p])
             :: else -> assert(data[c] % 16 == expected[p])
             fi;
             expected[p] = data[c] % 16 + 1;
             if :: expected[p] == M + 1 -> finished++ :: else -> skip fi;
             release(c, 1 << s)
          :: else -> skip
          fi;
          p++
       od;
       if
       :: got == 0 && finished < P ->
          w = subWake[s];
          subSleeping[s] = 1;
          p = 0;
          do
          :: p == P -> futexWait(subWake[s], w, subAsleep[s]); break
          :: p < P && qhead[QUEUE(s, p)] != qtail[QUEUE(s, p)] -> break
          :: p < P && qhead[QUEUE(s, p)] == qtail[QUEUE(s, p)] -> p++
          od;
          subSleeping[s] = 0
       :: else -> skip
       fi
    od;
    done++
}

init {
    byte i, count;
    atomic {
        i = 0;
        do :: i == N -> break :: else -> next[i] = (i + 1 < N -> i + 1 : EMPTY); i++ od;
        if :: discard = 0 :: discard = 1 fi;
        i = 0;
        do :: i == P -> break :: else -> run publisher(i); i++ od;
        i = 0;
        do :: i == S -> break :: else -> run subscriber(i); i++ od
    }
    (done == P + S);
    // Every chunk is back: no holders, and the free list holds all N.
    i = 0;
    do :: i == N -> break :: else -> assert(holders[i] == 0); i++ od;
    i = top;
    count = 0;
    do :: i == EMPTY -> break :: else -> count++; assert(count <= N); i = next[i] od;
    assert(count == N)
}
