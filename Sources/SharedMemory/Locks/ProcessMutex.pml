// pan: -DSAFETY -DCOLLAPSE | -m1000000
/*
 * ProcessMutex's protocol (ProcessMutex.swift, ProcessMutexOwner.swift): the state word (the
 * futex word, which names its holder's thread id, and a generation), the owner record tagged
 * with a generation, futex sleeps in slices, owner-death takeover, markConsistent and
 * not-recoverable.
 *
 * Three threads use one mutex: one with lock(), one with lock(timeout:), one with tryLock(). The
 * third either has a thread id of its own, or starts once the first is dead and reuses its
 * thread id (with another start time), then calls tryLock() or only lives. A killer may end the
 * first two at any point (SIGKILL): between any two of their steps, so also between the
 * compare-and-swap that takes the word and the record, and while they sleep; so a holder dies,
 * and so does whoever took over from it. Each atomic block is one atomic instruction (or the
 * kernel's check-and-sleep of FUTEX_WAIT); local steps are folded into them where no other
 * thread can tell the difference.
 *
 * Checked:
 * - mutual exclusion: at most one live thread holds the mutex;
 * - owner death: an acquisition that reports no death never finds the data half-updated,
 *   so a dead holder's work is always reported (`.acquiredPreviousOwnerDied`);
 * - no lost wake-up: without a death, no sleeper stays asleep (an invalid end state);
 * - recovery: when every live thread waits and the mutex is still held, its holder is dead, and
 *   a waiter proves it, wherever the holder was killed (before its record too: the word names
 *   it). The one exception: a holder killed before its record, whose thread id a live thread
 *   that does not lock the mutex took meanwhile; waiters then see that thread, and time out.
 *
 * Sleeping slices of a plain lock() end only after a death (`timeout`, when nothing else can
 * move), so that they cannot hide a lost wake-up; a deadline of lock(timeout:) passes likewise
 * only when nothing else can move.
 */

#define N 3
#define HOLDER 3            /* the word's holder bits: a thread id 1...3 */
#define INCONSISTENT 4
#define WAITERS 8
#define NOT_RECOVERABLE 4   /* the owner-died bit with no holder */

#define OK 1
#define DIED 2
#define BUSY 3
#define GONE 4

#define REUSER 2       /* the thread that may reuse the first one's thread id */
#define tidOf(p) ((p) == REUSER && reusing -> 1 : (p) + 1)
#define epochOf(p) ((p) == REUSER && reusing -> 1 : 0)
/* the thread a (thread id, start time) record names */
#define slotOf(t, e) ((e) == 1 -> REUSER : (t) - 1)
#define live(p) (started[p] && !dead[p])
/* kill(tid, 0) finds no thread of that id, or /proc shows it a zombie */
#define tidEnded(t) (!live((t) - 1) && !((t) == 1 && reusing && live(REUSER)))

byte word;         /* the futex word: the low half of the state */
byte gen;          /* the generation: the high half */
byte ownerGen;     /* the owner record's tag */
byte ownerId;      /* the owner record: thread id */
byte ownerEpoch;   /* the owner record: start time */

bool sleeping[N];  /* in the futex's wait queue */
bool started[N];
bool reusing;      /* the third thread reuses the first one's thread id */
bool idle;         /* the third thread only lives */
bool dead[N];      /* the truth that tgkill, kill and /proc reveal */
bool kill[N];
bool done[N];
bool holding[N];   /* took the word and has not released it */
byte holderSlot;   /* who took the word last */
byte liveHolders;
byte deaths;
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

/* Taking the word (one compare-and-swap) names this thread in it and makes it the holder. */
inline took(flags) {
    word = flags | tidOf(me); gen++;
    holding[me] = true; holderSlot = me;
    assert(liveHolders == 0);
    liveHolders++
}

/* ProcessMutexOwner.record: the identity first, the generation tag last. */
inline record() {
    ownerId = tidOf(me);
    ownerEpoch = epochOf(me);
    ownerGen = gen
}

/*
 * ProcessMutex.holder(of:) and verdict(on:): the tag, the identity, then the generation again;
 * without a record of this generation, the word's thread id. `ended` is what the checks reveal.
 */
inline judgeHolder() {
    tag = ownerGen;
    id = ownerId;
    ep = ownerEpoch;
    atomic {
        if
        :: tag == g && gen == g ->
            assert(id == (w & HOLDER));   /* the record names the word's thread */
            assert(id != tidOf(me) || ep != epochOf(me));   /* no thread locks twice */
            ended = dead[slotOf(id, ep)] || !started[slotOf(id, ep)];
            recorded = true
        :: else ->
            /* the word's thread id: this thread records before it returns, so its own id means an earlier thread's */
            ended = (w & HOLDER) == tidOf(me) || tidEnded(w & HOLDER);
            recorded = false
        fi;
        tag = 0; id = 0; ep = 0
    }
}

/* ProcessMutex.acquire and acquireContended. */
inline acquire(waiting, timed) {
    result = 0;
    atomic {
        if
        :: word == 0 -> took(0); result = OK
        :: else -> skip
        fi
    }
    slept = false; sliceEnded = false; expired = false;
    do
    :: result != 0 -> break
    :: else ->
        atomic {
            w = word; g = gen;
            assert(w == 0 || w == NOT_RECOVERABLE || (w & HOLDER) != 0 && (w & ~(HOLDER | WAITERS | INCONSISTENT)) == 0);
            mayWait = waiting && !expired
        }
        if
        :: w == NOT_RECOVERABLE -> result = GONE
        :: w == 0 ->
            atomic {
                if
                :: word == w && gen == g ->
                    if
                    :: slept -> took(WAITERS)
                    :: else -> took(0)
                    fi;
                    result = OK
                :: else -> skip
                fi
            }
        :: w != 0 && w != NOT_RECOVERABLE ->
            judgeHolder();
            if
            :: sliceEnded ->
                /* Nothing else could move: the holder is dead, and proved so unless its id lives on in another thread. */
                assert(dead[holderSlot]);
                assert(ended || !recorded && holderSlot == 0 && idle)
            :: else -> skip
            fi;
            if
            :: ended && (sliceEnded || !mayWait || !recorded && (w & HOLDER) == tidOf(me)) ->
                atomic {
                    if
                    :: word == w && gen == g ->
                        holding[holderSlot] = false;
                        took(WAITERS | INCONSISTENT);
                        result = DIED
                    :: else -> w = 255  /* the state moved on: look again */
                    fi
                }
            :: else ->
                if
                :: !mayWait -> result = BUSY
                :: else -> skip
                fi
            fi;
            sliceEnded = false;
            if
            :: result == 0 && w != 255 ->
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
        w = 0; g = 0; ended = false; recorded = false   /* forgotten at each turn: fewer distinct states */
    od;
    slept = false; sliceEnded = false; expired = false; mayWait = false
}

/* ProcessMutex.unlock: exchange, and wake one sleeper if the word announced one. */
inline unlock() {
    atomic {
        assert(holding[me] && (word & HOLDER) == tidOf(me) && ownerId == tidOf(me) && ownerEpoch == epochOf(me) && ownerGen == gen);
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

proctype User(byte me; bool waiting; bool timed) {
    byte w, g, tag, id, ep, result, previous;
    bool slept, sliceEnded, expired, mayWait, ended, recorded;
    {
        acquire(waiting, timed);
        if
        :: result == OK || result == DIED ->
            record();
            criticalSection();
            unlock()
        :: else -> skip
        fi;
        done[me] = true
    } unless {
        kill[me] ->
            atomic {
                dead[me] = true; deaths++;
                sleeping[me] = false;
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
        started[0] = true; started[1] = true;
        run User(0, true, false);   /* lock() */
        run User(1, true, true)     /* lock(timeout:) */
    }
    if
    :: started[REUSER] = true; run User(REUSER, false, false)   /* tryLock() */
    :: atomic { dead[0] -> reusing = true; started[REUSER] = true }
       if
       :: run User(REUSER, false, false)   /* tryLock() with the dead thread's id */
       :: idle = true; done[REUSER] = true   /* only lives, with that id */
       fi
    fi
}
