// pan: -DSAFETY | -m1000000
/*
 * SharedHeap's named-object lookup without the lock (SharedHeap+NamedObjects.swift, lookUp;
 * SharedHeap+Allocation.swift, withLockedHeap): a sequence lock over the name table, whose
 * writers hold the heap's mutex and may be killed at any step.
 *
 * The name table is two words, a and b, which every committed state keeps equal (a name and
 * the record it points at). A writer takes the mutex, makes the version odd, logs and changes
 * a, then b, commits (clears the log), makes the version even (odd + 1) and unlocks; a killer
 * may end it between any two steps, leaving the mutex owner-dead. Whoever takes an owner-dead
 * mutex makes the version odd, rolls the log back newest first, and makes it even.
 *
 * A reader reads the version, gives up the try if it is odd, reads a and b, reads the version
 * again, and trusts what it read only if the version did not change; after TRIES tries it
 * locks the mutex (repairing a dead holder's change) and reads under it.
 *
 * Checked: every result a reader trusts, with or without the lock, is a committed state
 * (a == b); no reader waits forever (the mutex is always released or owner-dead).
 */

#define TRIES 2

byte version = 0;
byte a = 0;
byte b = 0;
/* The undo log: entries counted, and each old value. */
byte logged = 0;
byte oldA = 0;
byte oldB = 0;
/* The mutex: 0 free, else its holder's id; dead marks a holder that was killed. */
byte holder = 0;
bool dead = false;
bool killed = false;

/* Takes the mutex; if its holder died, repairs as withLockedHeap does. */
inline lock(me) {
    repairing = false;
    atomic {
        (holder == 0 || dead) ->
        repairing = dead;
        dead = false;
        holder = me
    }
    if
    :: repairing ->
        version = version | 1;
        if
        :: logged == 2 -> b = oldB; logged = 1
        :: else -> skip
        fi;
        if
        :: logged == 1 -> a = oldA; logged = 0
        :: else -> skip
        fi;
        version = version + 1
    :: else -> skip
    fi
}

proctype Writer(byte me) {
    byte odd;
    bool repairing;
    lock(me);
    do
    :: true ->
        {
            odd = version | 1;
            version = odd;
            oldA = a; logged = 1; a = a + 1;
            oldB = b; logged = 2; b = b + 1;
            logged = 0;
            version = odd + 1;
            holder = 0;
            break
        } unless { killed && holder == me -> dead = true; break }
    od
}

proctype Reader() {
    byte before, ra, rb, tries = 0;
    bool repairing;
    do
    :: tries < TRIES ->
        before = version;
        if
        :: before % 2 == 0 ->
            ra = a;
            rb = b;
            if
            :: version == before -> assert(ra == rb); goto done
            :: else -> skip
            fi
        :: else -> skip
        fi;
        tries++
    :: tries == TRIES ->
        lock(9);
        assert(a == b);
        holder = 0;
        goto done
    od;
done:
    skip
}

init {
    atomic {
        run Writer(1);
        run Writer(2);
        run Reader();
        run Reader()
    }
    /* The killer: at most one kill, at any instant. */
    if
    :: killed = true
    :: skip
    fi
}
