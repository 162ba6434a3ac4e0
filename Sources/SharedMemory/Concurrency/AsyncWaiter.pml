// The async waiter (AsyncWaiter.swift, WaitTicket.swift): tasks that found nothing arm a ticket
// and hand it to the process's one waiter thread, which sleeps for all of them in futex_waitv on
// their ports' wake words and its set's own control word (WaitSet.pml checks the set alone).
// This model checks the hand-over: ticket registration, the waiter's readiness check, its sleep
// announcement, futex_waitv, and cancellation, with every interleaving. Locked sections (the
// ticket's phase, the submitted list) are atomic steps; every other access is sequentially
// consistent, as in the Swift code.
//
// What it checks: task A receives both samples a publisher sends, task B (whose port never gets
// anything) is resumed by its cancellation, and nobody is left suspended while the waiter sleeps:
// a lost wake-up is an invalid end state (the waiter's sleep and its loop are valid end states).
//
// The protocol:
//   task        look (receive); if nothing: reset its ticket's phase to idle, install the
//               cancellation handler, then under the ticket's lock: cancelled -> resume itself,
//               else armed; if armed: append the ticket to the submitted list (under its lock),
//               bump the control word, futex_wake; suspend; when resumed, look again (loop)
//   cancel      under the ticket's lock: armed -> take the continuation; phase = cancelled; if it
//               took one: resume the task, bump the control word, futex_wake
//   publisher   push a sample; take the port's sleeping flag back (1 -> 0); if that won, bump the
//               port's wake word, futex_wake
//   waiter      each round: take the submitted list into its set; drop tickets that are not armed;
//               look at the set's ports: ready -> resume (if still armed) and drop; else if the
//               control word moved since last seen, note it and start the next round; else read
//               each port's wake word, set its sleeping flag, look again; if nothing, futex_waitv
//               on the control word (value last seen) and each wake word (value read); clear the
//               flags; look: ready -> resume and drop
// Without the look after the announcement, or with a submission that does not bump the control
// word, the verifier finds a task left suspended. (A cancellation's bump only makes the waiter let
// go of the port sooner: the cancellation itself resumes the task.)

byte samples;       // task A's port: samples waiting
byte wakeA;         // A's port's wake word
bit flagA;          // A's port's sleeping flag
byte control;       // the set's own word
bit queued;         // the waiter sleeps in futex_waitv
byte phaseA;        // A's ticket: 0 idle, 1 armed, 2 cancelled
byte phaseB;
byte resumedA;      // what resumed the task: 0 not yet, 1 the waiter, 2 a cancellation
byte resumedB;
bit pendingA;       // the ticket is on the submitted list
bit pendingB;
bit inSetA;         // the ticket is in the waiter's set
bit inSetB;
bit installedB;     // B's cancellation handler is installed
byte gotA;

inline fireA() {
    atomic { if :: phaseA == 1 -> phaseA = 0; resumedA = 1 :: else -> skip fi };
    inSetA = 0
}

proctype publisher() {
    bit won;
    do
    :: samples < 2 && gotA + samples < 2 ->
        samples = samples + 1;
        atomic { if :: flagA == 1 -> flagA = 0; won = 1 :: else -> won = 0 fi };
        if :: won -> wakeA = wakeA + 1; queued = 0 :: else -> skip fi
    :: gotA + samples == 2 -> break
    od
}

proctype taskA() {
    bit armed;
    do
    :: atomic { samples > 0 -> samples = samples - 1; gotA = gotA + 1 };
        if :: gotA == 2 -> break :: else -> skip fi
    :: atomic { samples == 0 -> skip };
        phaseA = 0;
        atomic { if :: phaseA == 2 -> resumedA = 2; armed = 0 :: else -> phaseA = 1; armed = 1 fi };
        if
        :: armed -> pendingA = 1; control = control + 1; queued = 0
        :: else -> skip
        fi;
        resumedA != 0;      // suspended until resumed
        resumedA = 0
    od
}

proctype taskB() {
    bit armed;
    phaseB = 0;
    installedB = 1;
    atomic { if :: phaseB == 2 -> resumedB = 2; armed = 0 :: else -> phaseB = 1; armed = 1 fi };
    if
    :: armed -> pendingB = 1; control = control + 1; queued = 0
    :: else -> skip
    fi;
    resumedB != 0
}

proctype cancelB() {
    bit took;
    installedB == 1;
    atomic { if :: phaseB == 1 -> took = 1 :: else -> took = 0 fi; phaseB = 2 };
    if
    :: took -> resumedB = 2; control = control + 1; queued = 0
    :: else -> skip
    fi
}

proctype waiter() {
    byte seen, expectedA;
end:
    do
    :: atomic {
            if :: pendingA -> pendingA = 0; inSetA = 1 :: else -> skip fi;
            if :: pendingB -> pendingB = 0; inSetB = 1 :: else -> skip fi
        };
        atomic { if :: inSetA && phaseA != 1 -> inSetA = 0 :: else -> skip fi };
        atomic { if :: inSetB && phaseB != 1 -> inSetB = 0 :: else -> skip fi };
        if
        :: inSetA && samples > 0 -> fireA()
        :: else ->
            if
            :: control != seen -> seen = control
            :: else ->
                if :: inSetA -> expectedA = wakeA; flagA = 1 :: else -> skip fi;
                if
                :: inSetA && samples > 0 -> skip
                :: else ->
                    // futex_waitv: the kernel compares every word and queues in one step.
                    atomic {
                        if
                        :: control == seen && (!inSetA || wakeA == expectedA) -> queued = 1
                        :: else -> skip
                        fi
                    };
end_asleep:
                    queued == 0
                fi;
                if :: inSetA -> flagA = 0 :: else -> skip fi;
                if :: inSetA && samples > 0 -> fireA() :: else -> skip fi
            fi
        fi
    od
}

init {
    atomic {
        run waiter();
        run publisher();
        run taskA();
        run taskB();
        run cancelB()
    }
}
