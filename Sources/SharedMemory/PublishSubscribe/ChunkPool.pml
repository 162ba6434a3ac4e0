// pan: -DSAFETY -DCOLLAPSE | -m1000000
// The pool of a publish-subscribe service (PublishSubscribe/ChunkPool.swift): a free list whose
// head word holds the top chunk and a tag bumped by every change, taken from by several
// publishers at once and given back to by any holder, and each chunk's holders word, cleared one
// bit at a time, whose last clearer gives the chunk back.
//
// Port 0 takes its two chunks as a publisher fills its cache: both with one compare-and-swap of
// the head (the top, and the chunk its link names), marks them as cached (their next word), then
// claims them one at a time (the mark cleared, then the holders set).
//
// What it checks, for every interleaving of T ports that each, twice, take two chunks and give
// them back: a chunk is never taken while it has holders (the assertion in take), nobody takes
// from an empty pool when the chunks are enough, and at the end all N chunks are on the free
// list, which is a list (no cycle). Bits shared between several holders, the last clearer giving
// the chunk back, are checked with the queues in PublishSubscribe.pml.
//
// The tag is needed: with it removed (compare the head's top only) the verifier finds a chunk
// taken twice: a taker reads the top A and its next B, others take A and B and give A back, and
// the taker's exchange succeeds and makes B, still held, the top. A batch taker that reads a link
// which is no chunk index (a mark, read from a chunk another batch took meanwhile) finds the head
// moved (the code reports .corrupted only when it did not move).

#define T 2
#define N 4          /* each of the T ports holds at most two at a time */
#define EMPTY 255
#define CACHED 200   /* a chunk's next word while it waits in a publisher's cache */
#define ALL ((1 << T) - 1)

byte top = 0;
byte tag = 0;
byte next[N];
byte holders[N];

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
       assert(t != EMPTY);
       nx = next[t];
       if
       :: atomic { top == t && tag == g -> top = nx; tag = g + 1 }; break
       :: atomic { !(top == t && tag == g) }
       fi
    od;
    c = t;
    atomic { assert(holders[c] == 0); holders[c] = b }
}

// Takes the top chunk and, if there is one below it, that one too, with one exchange of the head.
inline takeBatch(c1, c2, b) {
    do
    :: atomic { t = top; g = tag };
       assert(t != EMPTY);
       n1 = next[t];
       got = 1;
       nx = n1;
       if
       :: n1 != EMPTY && n1 < N -> nx = next[n1]; got = 2
       :: else -> skip
       fi;
       if
       :: (got == 1 && n1 != EMPTY) || (got == 2 && nx != EMPTY && nx >= N) ->
          assert(top != t || tag != g)     // a link that names no chunk: the head moved; again
       :: else ->
          if
          :: atomic { top == t && tag == g -> top = nx; tag = g + 1 }; break
          :: atomic { !(top == t && tag == g) }
          fi
       fi
    od;
    c1 = t;
    next[c1] = CACHED;
    if :: got == 2 -> c2 = n1; next[c2] = CACHED :: else -> skip fi;
    next[c1] = EMPTY;
    atomic { assert(holders[c1] == 0); holders[c1] = b };
    if
    :: got == 2 -> next[c2] = EMPTY; atomic { assert(holders[c2] == 0); holders[c2] = b }
    :: else -> take(c2, b)
    fi
}

// Twice: takes two chunks, then gives them back; meanwhile the other ports do the same.
proctype port(byte me) {
    byte t, g, nx, n1, got, old, first, second, round;
    do
    :: round == 2 -> break
    :: else ->
       if
       :: me == 0 -> takeBatch(first, second, 1 << me)
       :: else -> take(first, 1 << me); take(second, 1 << me)
       fi;
       release(first, 1 << me);
       release(second, 1 << me);
       round++
    od
}

init {
    byte i, count, t, g, old;
    atomic {
        i = 0;
        do :: i == N -> break :: else -> next[i] = (i + 1 < N -> i + 1 : EMPTY); i++ od;
        i = 0;
        do :: i == T -> break :: else -> run port(i); i++ od
    }
    (_nr_pr == 1);
    i = 0;
    do :: i == N -> break :: else -> assert(holders[i] == 0); i++ od;
    i = top;
    count = 0;
    do :: i == EMPTY -> break :: else -> count++; assert(count <= N); i = next[i] od;
    assert(count == N)
}
