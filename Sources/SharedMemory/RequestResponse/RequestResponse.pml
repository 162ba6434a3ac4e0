// pan: -DSAFETY -DCOLLAPSE | -m1000000
// The request-response round trip (RequestResponse/*.swift) on publish-subscribe's parts: a
// client's request goes into its queue to the server (a push under the service's lock), the
// server takes it (compare-and-swap of the tail), loans chunks for its responses and pushes
// each into the queue from it to that client, of which it is the only writer (no lock), and the
// client takes them.
// Each side can sleep for two reasons on one wake word per port: a client waiting for room in
// its request queue (the publisher's sleeping flag) or for responses (its second flag); a
// server waiting for requests (the subscriber's sleeping flag) or for room to respond (its
// second flag). Whoever makes progress for the other side stores its entry or its tail first
// (sequentially consistent), then takes the matching flag back if it is set (compare-and-swap
// 1 to 0, ServiceMemory.wake) and only then bumps the wake word: one wake-up per sleep.
//
// The pool's free list is checked in ChunkPool.pml and the queues' discard-oldest taking in
// PublishSubscribe.pml; here a chunk is taken and returned in one step, with its holders word
// (one bit per port) exact.
//
// What it checks, for every interleaving, with C clients each sending M requests one after
// another and the server answering each with R responses through queues of CAP entries (two
// clients, so that a response push without the lock meets the other client's request push
// under it, and the server's round robin and its wake-ups of two clients are covered; scratch
// variables are reset after use so that equal states are stored once: 2.5e7 states, about a
// minute and 1.2 GB):
// every response reaches the client that asked, intact and in order (all R for each request);
// the server sees each request once, intact; no chunk is taken while it has holders and the
// pool (ServiceConfiguration.chunkCount of the channel plus RequestResponseConfiguration's
// extra) never runs dry; nobody is left asleep while there is work (a lost wake-up is an
// invalid end state); at the end every chunk is back in the pool.
//
// Each part is needed: without the client's re-check of its response queue after announcing
// its sleep, or with the server reading the client's request-room flag instead of its response
// flag, the verifier finds a process stuck asleep.

#define C 2
#define M 1
#define R 2
#define CAP 1
#define N 10         /* C * (1 + CAP) + 1 * (1 + CAP) + 2 * C * 1 * CAP */
#define EMPTY 255
#define SERVERBIT 1
#define CLIENTBIT(c) (1 << (1 + c))

byte holders[N];
bit free[N];
byte data[N];        // what a chunk carries: client * 64 + request * 8 + response

byte qhead[C];       // requests, client c -> the server
byte qtail[C];
byte qslot[C * CAP];
byte rhead[C];       // responses, the server -> client c
byte rtail[C];
byte rslot[C * CAP];

bit clientRoomSleeping[C];   // the publisher port's sleeping flag
bit clientReplySleeping[C];  // RequestResponseLayout.replySleeping
byte clientWake[C];
bit clientAsleep[C];
bit serverSleeping;          // the subscriber port's sleeping flag
bit serverReplySleeping;
byte serverWake;
bit serverAsleep;

bit lock;
byte done;

inline futexWait(word, expected, asleep) {
    atomic { if :: word == expected -> asleep = 1 :: else -> skip fi };
    (asleep == 0)
}

inline futexWake(word, asleep) {
    atomic { word++; asleep = 0 }
}

// ServiceMemory.wake: only the waker that takes the flag back (1 to 0) wakes the sleeper.
inline wakeIfSleeping(flag, word, asleep) {
    if
    :: atomic { flag == 1 -> flag = 0 }; futexWake(word, asleep)
    :: else -> skip
    fi
}

inline take(ch, b) {
    atomic {
        ch = 0;
        do
        :: ch == N -> assert(false)           // the pool never runs dry
        :: ch < N && free[ch] -> break
        :: ch < N && !free[ch] -> ch++
        od;
        assert(holders[ch] == 0);
        free[ch] = 0;
        holders[ch] = b
    }
}

inline release(ch, b) {
    atomic {
        old = holders[ch];
        holders[ch] = old & ~(b);
        if :: (old & (b)) != 0 && (old & ~(b)) == 0 -> free[ch] = 1 :: else -> skip fi;
        old = 0
    }
}

// Takes the oldest entry of queue q (HEAD, TAIL, SLOTS: requests or responses) into ch, or EMPTY.
#define TAKE_ENTRY(HEAD, TAIL, SLOTS, q, ch) \
    do \
    :: tl = TAIL[q]; h = HEAD[q]; \
       if \
       :: h == tl -> atomic { ch = EMPTY; tl = 0; h = 0 }; break \
       :: else -> \
          e = SLOTS[q * CAP + tl % CAP]; \
          if \
          :: atomic { TAIL[q] == tl -> TAIL[q] = tl + 1; ch = e; e = 0; tl = 0; h = 0 }; break \
          :: atomic { TAIL[q] != tl } \
          fi \
       fi \
    od

proctype client(byte c) {
    byte ch, old, h, tl, e, w, request, got;
    request = 0;
    do
    :: request == M -> break
    :: else ->
       take(ch, CLIENTBIT(c));
       data[ch] = c * 64 + request * 8;
retry:
       atomic { lock == 0 -> lock = 1 };
       if
       :: qhead[c] - qtail[c] >= CAP ->
          lock = 0;
          w = clientWake[c];
          clientRoomSleeping[c] = 1;
          if
          :: qhead[c] - qtail[c] >= CAP -> futexWait(clientWake[c], w, clientAsleep[c])
          :: else -> skip
          fi;
          clientRoomSleeping[c] = 0;
          goto retry
       :: else -> skip
       fi;
       holders[ch] = SERVERBIT | CLIENTBIT(c);
       qslot[c * CAP + qhead[c] % CAP] = ch;
       qhead[c]++;
       release(ch, CLIENTBIT(c));         // no history
       lock = 0;
       wakeIfSleeping(serverSleeping, serverWake, serverAsleep);
       // Its R responses, in order.
       got = 0;
       do
       :: got == R -> break
       :: else ->
          TAKE_ENTRY(rhead, rtail, rslot, c, ch);
          if
          :: ch != EMPTY ->
             wakeIfSleeping(serverReplySleeping, serverWake, serverAsleep);
             assert(holders[ch] == CLIENTBIT(c));
             assert(data[ch] == c * 64 + request * 8 + got);
             got++;
             release(ch, CLIENTBIT(c))
          :: else ->
             w = clientWake[c];
             clientReplySleeping[c] = 1;
             if
             :: rhead[c] == rtail[c] -> futexWait(clientWake[c], w, clientAsleep[c])
             :: else -> skip
             fi;
             clientReplySleeping[c] = 0; w = 0
          fi
       od;
       request++
    od;
    done++
}

proctype server() {
    byte ch, rq, old, h, tl, e, w, c, answered, response, served;
    do
    :: served == C * M -> break
    :: else ->
       // Any client's next request (round robin), or sleep until one comes.
       rq = EMPTY;
       c = 0;
       do
       :: c == C -> break
       :: else ->
          TAKE_ENTRY(qhead, qtail, qslot, c, rq);
          if :: rq != EMPTY -> break :: else -> c++ fi
       od;
       if
       :: rq == EMPTY ->
          w = serverWake;
          serverSleeping = 1;
          c = 0;
          do
          :: c == C -> futexWait(serverWake, w, serverAsleep); break
          :: c < C && qhead[c] != qtail[c] -> break
          :: c < C && qhead[c] == qtail[c] -> c++
          od;
          serverSleeping = 0; w = 0
       :: else ->
          wakeIfSleeping(clientRoomSleeping[c], clientWake[c], clientAsleep[c]);
          assert(holders[rq] & SERVERBIT);
          assert(data[rq] / 64 == c && data[rq] % 8 == 0);
          response = 0;
          do
          :: response == R -> break
          :: else ->
             take(ch, SERVERBIT);
             data[ch] = data[rq] + response;
             // The only writer of the queue to client c: no lock.
             do
             :: rhead[c] - rtail[c] < CAP -> break
             :: else ->
                w = serverWake;
                serverReplySleeping = 1;
                if
                :: rhead[c] - rtail[c] >= CAP -> futexWait(serverWake, w, serverAsleep)
                :: else -> skip
                fi;
                serverReplySleeping = 0; w = 0
             od;
             holders[ch] = CLIENTBIT(c);
             rslot[c * CAP + rhead[c] % CAP] = ch;
             rhead[c]++;
             wakeIfSleeping(clientReplySleeping[c], clientWake[c], clientAsleep[c]);
             response++
          od;
          release(rq, SERVERBIT);
          served++
       fi
    od;
    done++
}

init {
    byte i;
    atomic {
        i = 0;
        do :: i == N -> break :: else -> free[i] = 1; i++ od;
        run server();
        i = 0;
        do :: i == C -> break :: else -> run client(i); i++ od
    }
    (done == C + 1);
    i = 0;
    do :: i == N -> break :: else -> assert(holders[i] == 0 && free[i]); i++ od
}
