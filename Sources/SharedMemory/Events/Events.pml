// The wake-up protocol of an event service (ListenerSlot.swift, Listener.swift, Notifier.swift):
// two notifiers, each signalling its own event id once, and one listener that waits until it has
// seen both. Every access the Swift code makes to the flag, the set and the wake word is
// sequentially consistent, so the model interleaves whole steps without store buffers.
//
// What it checks, for every interleaving: the listener learns both ids, each once, and is never
// left asleep in futex_wait after both notifiers finished (a lost wake-up is an invalid end
// state). A notifier calls futex_wake only when it took the sleeping flag back, so a busy
// listener costs no system call, and one sleep is answered by one wake.
//
// The protocol:
//   notifier   set the id's bit (read-modify-write); read the sleeping flag; if 1, take it back
//              (compare-and-swap 1 -> 0) and, if that won, bump the wake word and futex_wake
//   listener   take the set (exchange with 0); if empty: read the wake word, set the sleeping
//              flag, take the set again, and if still empty futex_wait while the wake word holds
//              what it read; clear the flag; take the set
// Without the second look at the set, or with the wake word read after the flag is set, the
// verifier finds a lost wake-up.

byte events;       // the listener's set of fired ids, one bit per id
bit sleeping;      // the listener announced that it sleeps
byte wake;         // the futex word
bit queued;        // the listener sleeps in futex_wait
byte seen;         // what the listener learned
byte wakes;        // futex_wake calls made
byte sleeps;       // times the listener announced that it sleeps

inline take(got) {
    atomic { got = events; events = 0 }
    assert((seen & got) == 0);     // each notification is learned once
    seen = seen | got
}

proctype notifier(byte id) {
    bit won;
    events = events | (1 << id);
    atomic {
        if
        :: sleeping == 1 -> sleeping = 0; won = 1
        :: else -> won = 0
        fi
    }
    if
    :: won ->
        wake = wake + 1;
        atomic { queued = 0; wakes = wakes + 1 };     // FUTEX_WAKE: wakes every queued sleeper
        assert(wakes <= sleeps)                       // one wake per sleep at most
    :: else -> skip
    fi
}

proctype listener() {
    byte got, expected;
    take(got);
    do
    :: seen == 3 -> break
    :: else ->
        expected = wake;
        atomic { sleeping = 1; sleeps = sleeps + 1 };
        take(got);
        if
        :: got == 0 ->
            // FUTEX_WAIT: the kernel compares and queues in one step, then the sleeper waits
            // until a FUTEX_WAKE dequeues it.
            atomic {
                if
                :: wake == expected -> queued = 1
                :: else -> skip
                fi
            }
            queued == 0
        :: else -> skip
        fi;
        sleeping = 0;
        take(got)
    od;
    assert(seen == 3)
}

init {
    atomic {
        run listener();
        run notifier(0);
        run notifier(1)
    }
}

