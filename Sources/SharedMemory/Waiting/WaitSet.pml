// One thread asleep on several ports at once (WaitSet.swift, WaitSource.swift):
// a subscriber's queue, a listener's set of fired ids, and the set's own control word, all in one
// futex_waitv. Each port keeps its own protocol (PublishSubscribe.pml, Events.pml); this model
// checks that sleeping on all their words at once, with the control word that async waiters and
// cancellations bump, loses no wake-up. Every access the Swift code makes to the flags, counts,
// sets and words is sequentially consistent, so whole steps interleave without store buffers.
//
// What it checks, for every interleaving: the waiter learns the sample, the event and the request
// each exactly once, and is never left asleep in futex_waitv once the publisher, the notifier and
// the requester finished (a lost wake-up is an invalid end state).
//
// The protocol:
//   publisher   push the sample (count + 1); if the subscriber's sleeping flag is 1, bump its wake
//               word and futex_wake
//   notifier    set the id's bit; if the listener's sleeping flag is 1, take it back (1 -> 0) and,
//               if that won, bump its wake word and futex_wake
//   requester   (an async waiter arriving, or a task cancelled) record the request under the lock,
//               then bump the control word and futex_wake
//   waiter      each round: take the requests (under the lock); look at the ports; if the control
//               word moved since it last saw it, note the new value and start the next round; else
//               for each port read its wake word and set its sleeping flag; look at the ports again;
//               if nothing, futex_waitv on the control word (with the value last seen) and every
//               wake word (with the value read); clear the flags; take what is there
// Without the second look, or with the requests taken after the control word is compared instead
// of before, the verifier finds a lost wake-up.

byte samples;       // the subscriber's queue: samples waiting
byte events;        // the listener's set of fired ids
bit request;        // a request recorded under the lock
byte control;       // the set's own word
byte subWake;       // the subscriber's wake word
byte lisWake;       // the listener's wake word
bit subSleeping;
bit lisSleeping;
bit queued;         // the waiter sleeps in futex_waitv
byte gotSamples;
byte gotEvents;
byte gotRequests;

inline take() {
    atomic { if :: samples > 0 -> samples = samples - 1; gotSamples = gotSamples + 1 :: else -> skip fi };
    atomic { if :: events != 0 -> events = 0; gotEvents = gotEvents + 1 :: else -> skip fi }
}

proctype publisher() {
    samples = samples + 1;
    if
    :: subSleeping == 1 -> subWake = subWake + 1; queued = 0
    :: else -> skip
    fi
}

proctype notifier() {
    bit won;
    events = events | 1;
    atomic {
        if
        :: lisSleeping == 1 -> lisSleeping = 0; won = 1
        :: else -> won = 0
        fi
    }
    if
    :: won -> lisWake = lisWake + 1; queued = 0
    :: else -> skip
    fi
}

proctype requester() {
    request = 1;
    control = control + 1;
    queued = 0
}

proctype waiter() {
    byte seen, subExpected, lisExpected;
    do
    :: atomic { if :: request -> request = 0; gotRequests = gotRequests + 1 :: else -> skip fi };
        if
        // The thread itself then sleeps on its control word for the next request.
        :: gotSamples == 1 && gotEvents == 1 && gotRequests == 1 -> break
        :: samples > 0 || events != 0 -> take()
        :: else ->
            if
            :: control != seen -> seen = control
            :: else ->
                subExpected = subWake;
                subSleeping = 1;
                lisExpected = lisWake;
                lisSleeping = 1;
                if
                :: samples == 0 && events == 0 ->
                    // futex_waitv: the kernel compares every word and queues in one step, then
                    // the sleeper waits until a FUTEX_WAKE on any of them dequeues it.
                    atomic {
                        if
                        :: control == seen && subWake == subExpected && lisWake == lisExpected -> queued = 1
                        :: else -> skip
                        fi
                    }
                    queued == 0
                :: else -> skip
                fi;
                subSleeping = 0;
                lisSleeping = 0;
                take()
            fi
        fi
    od;
    assert(gotSamples == 1 && gotEvents == 1 && gotRequests == 1)
}

init {
    atomic {
        run waiter();
        run publisher();
        run notifier();
        run requester()
    }
}
