// pan: -DSAFETY | -m1000000
// The sleep and wake-up protocol of SPSCRing (SPSCRing*.swift), with the weak memory ordering it
// relies on modelled explicitly: every store a side makes to shared memory goes into that side's
// store buffer (FIFO) and reaches memory at some later step, so a side may read the other side's
// flag before its own published position is visible. That is the store-to-load reordering a
// release store followed by a relaxed load allows (x86-TSO has only that one; acquire loads and
// release stores keep message data in order, which this model does not need to show).
//
// What it checks, for every interleaving and every flush timing, and for each combination of
// the two processes being registered for membarrier or not: all M messages arrive, and neither
// side is left asleep in futex_wait while the other has finished (a lost wake-up is an invalid
// end state). Positions count messages here rather than bytes; CAP messages fit, and the consumer
// gives room back every BATCH messages or when it finds the ring empty. BATCH > CAP stands for
// the byte ring's case where the producer needs more room than a batch leaves (a large record,
// plus the end of the ring a wrap marker skips): only giving room back on finding the ring empty
// frees it then, and the model shows that this is needed.
//
// The protocol, per side:
//   fast path     store position (release); fence only if this process is not registered;
//                 load the other side's sleeping flag; futex_wake if it says "asleep until this
//                 position moves from where it just was" (the flag holds 1 + that position, so
//                 only the publication that moves it wakes, not every message while the flag
//                 stays set)
//   about to      store own sleeping flag (1 + the position it waits on);
//   sleep         membarrier(GLOBAL_EXPEDITED) if this process is
//                 registered (a full barrier here and on every CPU running a registered
//                 process), else a fence; re-check the other side's position; futex_wait on it
//                 while it holds the value seen; clear the flag
// A sleeper that could not issue membarrier while the other side skips its fence sleeps in
// slices (a futex_wait that may time out), as the Swift code does.
//
// Each part is needed: without the barrier membarrier makes on the other CPU, the unregistered
// side's fence, the sleeper's own fence, the slices, or the giving back of room on finding the
// ring empty, or with the wake keyed to the position after the publication instead of before,
// the verifier finds a lost wake-up. (An earlier design that woke once per announcement,
// whatever the publication, failed here too: the wake could answer a publication the sleeper had
// already seen.)

#define M 4
#define CAP 2
#define BATCH 3

#define HEAD 0
#define TAIL 1
#define CONSUMER_SLEEPING 2
#define PRODUCER_SLEEPING 3

byte memory[4];           // head, tail, consumerSleeping, producerSleeping as other CPUs see them
chan producerBuffer = [3] of { byte, byte };   // (variable, value) stores not yet visible
chan consumerBuffer = [3] of { byte, byte };
bit producerRegistered, consumerRegistered;
bit consumerAsleep, producerAsleep;            // queued in futex_wait
bit producerDone, consumerDone;

// A store buffer drains in order, one store at a time, whenever the hardware likes.
proctype drain(chan buffer) {
    byte variable, value;
end:
    do
    :: atomic { buffer?variable, value -> memory[variable] = value }
    od
}

// A full barrier on this CPU: its earlier stores are visible before anything after it.
#define fence(buffer) (len(buffer) == 0)

// membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED): a barrier on the caller, then one on the other
// side's CPU at some instant before the call returns (its stores before that instant are then
// visible). Only a registered process gets the second; an unregistered one fences by itself.
#define membarrier(own, other, otherRegistered) \
    fence(own); \
    if \
    :: otherRegistered -> fence(other) \
    :: else -> skip \
    fi

// futex_wait(word, expected): queues the caller only if the word still holds the value (the
// kernel's check and queueing are atomic with respect to futex_wake); returns once woken, or,
// sleeping in slices, whenever a slice ends.
#define futexWait(word, expected, asleep, slices) \
    atomic { if :: memory[word] == expected -> asleep = 1 :: else -> skip fi }; \
    if \
    :: asleep == 0 \
    :: slices -> asleep = 0 \
    fi

// futex_wake: the kernel orders the waker's earlier stores before it looks for sleepers.
#define futexWake(own, asleep) fence(own); asleep = 0

proctype producer() {
    byte head = 0, knownTail = 0;
    bit slices;
    do
    :: head == M -> break
    :: else ->
        if
        :: head - knownTail < CAP -> skip
        :: else ->
            knownTail = memory[TAIL];
            do
            :: head - knownTail < CAP -> break
            :: else ->
                // About to sleep: announce, barrier, re-check, sleep.
                producerBuffer!PRODUCER_SLEEPING, knownTail + 1;
                slices = 0;
                if
                :: producerRegistered -> membarrier(producerBuffer, consumerBuffer, consumerRegistered)
                :: else -> fence(producerBuffer); slices = consumerRegistered
                fi;
                if
                :: memory[TAIL] == knownTail -> futexWait(TAIL, knownTail, producerAsleep, slices)
                :: else -> skip
                fi;
                producerBuffer!PRODUCER_SLEEPING, 0;
                knownTail = memory[TAIL]
            od
        fi;
        // Publish: the position, then (fence if unregistered) the consumer's flag.
        head++;
        producerBuffer!HEAD, head;
        if
        :: !producerRegistered -> fence(producerBuffer)
        :: else -> skip
        fi;
        // Wake only a consumer asleep until the head moves from where it just was (head - 1).
        if
        :: memory[CONSUMER_SLEEPING] == head -> futexWake(producerBuffer, consumerAsleep)
        :: else -> skip
        fi
    od;
    producerDone = 1
}

proctype consumer() {
    byte tail = 0, publishedTail = 0, knownHead = 0, previous;
    bit slices;
    do
    :: tail == M -> break
    :: else ->
        if
        :: knownHead == tail ->
            if
            :: publishedTail != tail ->
                // Found empty: give all released room back first.
                previous = publishedTail;
                publishedTail = tail;
                consumerBuffer!TAIL, tail;
                if
                :: !consumerRegistered -> fence(consumerBuffer)
                :: else -> skip
                fi;
                if
                :: memory[PRODUCER_SLEEPING] == previous + 1 -> futexWake(consumerBuffer, producerAsleep)
                :: else -> skip
                fi
            :: else -> skip
            fi;
            knownHead = memory[HEAD];
            do
            :: knownHead != tail -> break
            :: else ->
                consumerBuffer!CONSUMER_SLEEPING, tail + 1;
                slices = 0;
                if
                :: consumerRegistered -> membarrier(consumerBuffer, producerBuffer, producerRegistered)
                :: else -> fence(consumerBuffer); slices = producerRegistered
                fi;
                if
                :: memory[HEAD] == tail -> futexWait(HEAD, tail, consumerAsleep, slices)
                :: else -> skip
                fi;
                consumerBuffer!CONSUMER_SLEEPING, 0;
                knownHead = memory[HEAD]
            od
        :: else -> skip
        fi;
        // Receive one message; give room back once a batch has been released.
        tail++;
        if
        :: tail - publishedTail >= BATCH ->
            previous = publishedTail;
            publishedTail = tail;
            consumerBuffer!TAIL, tail;
            if
            :: !consumerRegistered -> fence(consumerBuffer)
            :: else -> skip
            fi;
            if
            :: memory[PRODUCER_SLEEPING] == previous + 1 -> futexWake(consumerBuffer, producerAsleep)
            :: else -> skip
            fi
        :: else -> skip
        fi
    od;
    consumerDone = 1
}

init {
    // Either process may or may not have registered for membarrier.
    if
    :: producerRegistered = 1
    :: producerRegistered = 0
    fi;
    if
    :: consumerRegistered = 1
    :: consumerRegistered = 0
    fi;
    run drain(producerBuffer);
    run drain(consumerBuffer);
    run producer();
    run consumer();
    // Both finish (a side stuck in futex_wait would be an invalid end state before this).
    (producerDone && consumerDone)
}
