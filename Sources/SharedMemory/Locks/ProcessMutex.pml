// pan: -DSAFETY -DCOLLAPSE | -m1000000
/*
 * ProcessMutex's protocol (ProcessMutex.swift, ProcessMutexOwner.swift): the state word (the
 * futex word and a generation), the owner record tagged with a generation, futex sleeps in
 * slices, owner-death takeover, markConsistent and not-recoverable.
 *
 * Three processes use one mutex: one with lock(), one with lock(timeout:), one with tryLock().
 * A killer may end the first two at any point (SIGKILL): between any two of their steps, and
 * while they sleep; so a holder dies, and so does whoever took over from it. Each atomic block
 * is one atomic instruction (or the kernel's check-and-sleep of FUTEX_WAIT); local steps are
 * folded into them where no other process can tell the difference.
 * (Letting the killer end the tryLock() user too, and the lock() user take the mutex twice, was
 * checked once on an earlier form of this model, the same protocol with fewer local steps folded:
 * 64 million states in 3 GB, no error; too heavy for every CI run.)
 *
 * Checked:
 * - mutual exclusion: at most one live process holds the mutex;
 * - owner death: an acquisition that reports no death never finds the data half-updated,
 *   so a dead holder's work is always reported (`.acquiredPreviousOwnerDied`);
 * - no lost wake-up: without a death, no sleeper stays asleep (an invalid end state);
 * - recovery: when every live process waits and the mutex is still held, its holder is dead,
 *   and a waiter can prove it, unless the holder died between taking the word and writing its
 *   record (then waiters time out: `lockWithTimeout` ends; a plain `lock()` keeps waiting).
 *
 * Sleeping slices of a plain lock() end only after a death (`timeout`, when nothing else can
 * move), so that they cannot hide a lost wake-up; a deadline of lock(timeout:) passes likewise
 * only when nothing else can move.
 */

#define N 3
#define LOCKED 1
#define WAITERS 2
#define INCONSISTENT 4
#define NOT_RECOVERABLE 8

#define OK 1
#define DIED 2
#define BUSY 3
#define GONE 4

byte word;         /* the futex word: the low half of the state */
byte gen;          /* the generation: the high half */
byte ownerGen;     /* the owner record's tag */
byte ownerId;      /* the owner record: process number + 1 */

bool sleeping[N];  /* in the futex's wait queue */
bool dead[N];      /* the truth that tgkill and /proc reveal */
bool kill[N];
bool done[N];
bool holding[N];   /* took the word and has not released it */
bool unrecorded[N];/* took the word and has not yet written its record's tag */
byte liveHolders;
byte deaths;
bool windowDeath;  /* a holder died between taking the word and tagging its record */
bool broken;       /* the protected data is half-updated */

inline wakeOne() {
    atomic {
        if
        :: sleeping[0] -> sleeping[0] = false
        :: sleeping[1] -> sleeping[1] = false
        :: sleeping[2] -> sleeping[2] = false
        :: else -> skip
        fi
    }
}

inline wakeAll() {
    atomic { sleeping[0] = false; sleeping[1] = false; sleeping[2] = false }
}

/* Taking the word (one compare-and-swap) makes this process the holder. */
inline took(newWord) {
    word = newWord; gen++;
    holding[me] = true; unrecorded[me] = true;
    assert(liveHolders == 0);
    liveHolders++
}

/* ProcessMutexOwner.record: the identity first, the generation tag last. */
inline record() {
    ownerId = me + 1;
    atomic { ownerGen = gen; unrecorded[me] = false }
}

/* ProcessMutexOwner.identity(of:): the tag, the identity, then the generation again. */
inline readHolder() {
    holder = 0;
    tag = ownerGen;
    id = ownerId;
    atomic {
        if
        :: tag == g && gen == g -> holder = id
        :: else -> skip
        fi;
        tag = 0; id = 0;
        assert(holder != me + 1)  /* no process locks twice: a hit would be a forged record */
    }
}

/* ProcessMutex.acquire and acquireContended. */
inline acquire(waiting, timed) {
    result = 0;
    atomic {
        if
        :: word == 0 -> took(LOCKED); result = OK
        :: else -> skip
        fi
    }
    slept = false; sliceEnded = false; expired = false;
    do
    :: result != 0 -> break
    :: else ->
        atomic {
            w = word; g = gen;
            assert(w == 0 || w == NOT_RECOVERABLE || (w & LOCKED) != 0 && (w & ~(LOCKED | WAITERS | INCONSISTENT)) == 0);
            mayWait = waiting && !expired
        }
        if
        :: w == NOT_RECOVERABLE -> result = GONE
        :: w == 0 ->
            atomic {
                if
                :: word == w && gen == g ->
                    if
                    :: slept -> took(LOCKED | WAITERS)
                    :: else -> took(LOCKED)
                    fi;
                    result = OK
                :: else -> skip
                fi
            }
        :: w != 0 && w != NOT_RECOVERABLE ->
            readHolder();
            if
            :: sliceEnded || !mayWait ->
                if
                :: sliceEnded ->
                    /* Nothing else could move: the holder is dead, and proved so unless it died unrecorded. */
                    assert(holder == 0 || dead[holder - 1]);
                    assert(holder != 0 || windowDeath)
                :: else -> skip
                fi;
                sliceEnded = false;
                if
                :: holder != 0 && dead[holder - 1] ->
                    atomic {
                        if
                        :: word == w && gen == g ->
                            holding[holder - 1] = false;
                            took(LOCKED | WAITERS | INCONSISTENT);
                            result = DIED
                        :: else -> w = 255  /* the state moved on: look again */
                        fi
                    }
                :: else ->
                    if
                    :: !mayWait -> result = BUSY
                    :: else -> skip
                    fi
                fi
            :: else -> skip
            fi;
            if
            :: result == 0 && !sliceEnded ->
                /* announce a sleeper, then sleep while the word still says so */
                if
                :: (w & WAITERS) == 0 ->
                    atomic {
                        if
                        :: word == w && gen == g -> word = w | WAITERS; w = w | WAITERS
                        :: else -> w = 255  /* changed: look again */
                        fi
                    }
                :: else -> skip
                fi;
                if
                :: w != 255 ->
                    atomic {
                        slept = true;
                        if
                        :: word == w -> sleeping[me] = true
                        :: else -> skip
                        fi
                    }
                    if
                    :: !sleeping[me] -> skip                                      /* woken, or never slept */
                    :: timeout && deaths > 0 && !timed -> sleeping[me] = false; sliceEnded = true
                    :: timeout && timed -> sleeping[me] = false; sliceEnded = deaths > 0; expired = true
                    fi
                :: else -> skip
                fi
            :: else -> skip
            fi
        fi;
        w = 0; g = 0; holder = 0   /* forgotten at each turn: fewer distinct states */
    od;
    slept = false; sliceEnded = false; expired = false; mayWait = false
}

/* ProcessMutex.unlock: exchange, and wake one sleeper if the word announced one. */
inline unlock() {
    atomic {
        assert(holding[me] && ownerId == me + 1 && ownerGen == gen);
        previous = word;
        if
        :: (previous & INCONSISTENT) != 0 -> word = NOT_RECOVERABLE
        :: else -> word = 0
        fi;
        holding[me] = false;
        liveHolders--
    }
    if
    :: (previous & INCONSISTENT) != 0 -> wakeAll()
    :: (previous & INCONSISTENT) == 0 && (previous & WAITERS) != 0 -> wakeOne()
    :: else -> skip
    fi
}

/* ProcessMutex.markConsistent: clear the bit, keeping whatever a sleeper announced. */
inline markConsistent() {
    atomic { assert(word & INCONSISTENT); word = word & ~INCONSISTENT }
}

inline criticalSection() {
    if
    :: result == OK -> assert(!broken)
    :: result == DIED ->
        if
        :: broken = false; markConsistent()   /* repaired */
        :: skip                               /* not repaired: unlock makes it unusable */
        fi
    fi;
    broken = true;   /* the protected data is half-updated here */
    broken = false
}

proctype User(byte me; bool waiting; bool timed; byte rounds) {
    byte w, g, tag, id, holder, result, previous, round;
    bool slept, sliceEnded, expired, mayWait;
    {
        do
        :: round < rounds ->
            round++;
            acquire(waiting, timed);
            if
            :: result == OK || result == DIED ->
                record();
                criticalSection();
                unlock()
            :: result == GONE -> break
            :: result == BUSY -> skip
            fi;
            previous = 0
        :: else -> break
        od;
        done[me] = true
    } unless {
        kill[me] ->
            atomic {
                dead[me] = true; deaths++;
                sleeping[me] = false;
                if
                :: unrecorded[me] && holding[me] -> windowDeath = true
                :: else -> skip
                fi;
                if
                :: holding[me] -> liveHolders--
                :: else -> skip
                fi
            }
    }
}

active proctype Killer() {
    byte kills;
    do
    :: atomic { kills < 2 && !done[0] && !dead[0] && !kill[0] -> kill[0] = true; kills++ }
    :: atomic { kills < 2 && !done[1] && !dead[1] && !kill[1] -> kill[1] = true; kills++ }
    :: break
    od
}

init {
    atomic {
        run User(0, true, false, 1);   /* lock() */
        run User(1, true, true, 1);    /* lock(timeout:) */
        run User(2, false, false, 1)   /* tryLock() */
    }
}
