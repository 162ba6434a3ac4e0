// The heap section: glibc's malloc + free (the limit for an allocator inside a region), and a
// lookup in a hash table with the layout of SharedHeap's name table, in private memory and
// without a lock (the limit for `find`).
#include "CReference.h"
#include "cref_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cref_malloc_free(size_t size, int batch, int iterations, uint64_t *samples) {
    if (batch <= 0 || iterations < 0 || (iterations > 0 && samples == NULL)) {
        errno = EINVAL;
        return -1;
    }
    // One untimed batch first, as on the Swift side.
    for (int round = -1; round < iterations; round++) {
        uint64_t start = cref_clock_ns();
        for (int i = 0; i < batch; i++) {
            unsigned char *block = malloc(size);
            if (block == NULL) return -1;
            block[0] = (unsigned char)i;
            __asm__ __volatile__("" : : "r"(block) : "memory");  // the block escapes: the pair is not elided
            free(block);
        }
        uint64_t end = cref_clock_ns();
        if (round >= 0) samples[round] = end - start;
    }
    return 0;
}

// SharedHeap's records and table (HeapNameEntry, HeapNameTable): a 64-byte record header, the
// name and type name after it, the value at its alignment; 16-byte slots of (record, hash).
struct record {
    uint64_t tag, hash, name_count, type_name_count, size, alignment, count, value;
};

static uint64_t fnv1a64(const unsigned char *bytes, size_t count) {
    uint64_t hash = 0xCBF29CE484222325u;
    for (size_t i = 0; i < count; i++) hash = (hash ^ bytes[i]) * 0x00000100000001B3u;
    return hash;
}

static const char type_name[] = "Swift.UInt64";

// The value's offset of the record `name`, or 0: probe from hash % capacity, compare the slot's
// hash, then the record's name and type, as SharedHeap.find does.
static uint64_t table_find(const unsigned char *base, uint64_t table, const char *name, size_t length) {
    uint64_t hash = fnv1a64((const unsigned char *)name, length);
    const uint64_t *header = (const uint64_t *)(base + table);
    uint64_t capacity = header[1], mask = capacity - 1;
    const uint64_t *slots = header + 4;
    for (uint64_t step = 0, index = hash & mask; step < capacity; step++, index = (index + 1) & mask) {
        uint64_t offset = slots[2 * index];
        if (offset == 0) return 0;
        if (offset == 1 || slots[2 * index + 1] != hash) continue;
        const struct record *entry = (const struct record *)(base + offset);
        if (entry->hash == hash && entry->name_count == length && memcmp(entry + 1, name, length) == 0) {
            if (entry->size != 8 || entry->alignment != 8 || entry->type_name_count != sizeof type_name - 1
                || memcmp((const char *)(entry + 1) + length, type_name, sizeof type_name - 1) != 0)
                return 0;
            return offset + entry->value;
        }
    }
    return 0;
}

int cref_table_find(int objects, int batch, int iterations, uint64_t *samples) {
    if (objects <= 0 || objects > 1000000 || batch <= 0 || iterations < 0 || (iterations > 0 && samples == NULL)) {
        errno = EINVAL;
        return -1;
    }
    uint64_t capacity = 16;
    while (capacity < 2 * ((uint64_t)objects + 1)) capacity *= 2;
    size_t record_bytes = 128, table_bytes = 32 + 16 * capacity;
    unsigned char *base = calloc(1, table_bytes + record_bytes * (size_t)objects);
    char (*names)[24] = malloc(sizeof *names * (size_t)objects);
    size_t *lengths = malloc(sizeof *lengths * (size_t)objects);
    if (base == NULL || names == NULL || lengths == NULL) {
        free(base), free(names), free(lengths);
        errno = ENOMEM;
        return -1;
    }
    uint64_t *header = (uint64_t *)base;
    header[1] = capacity;
    for (int i = 0; i < objects; i++) {
        lengths[i] = (size_t)snprintf(names[i], sizeof names[i], "object-%d", i);
        uint64_t offset = table_bytes + record_bytes * (uint64_t)i;
        struct record *entry = (struct record *)(base + offset);
        uint64_t hash = fnv1a64((const unsigned char *)names[i], lengths[i]);
        *entry = (struct record){ .hash = hash, .name_count = lengths[i], .type_name_count = sizeof type_name - 1,
            .size = 8, .alignment = 8, .count = 1, .value = 112 };
        memcpy(entry + 1, names[i], lengths[i]);
        memcpy((char *)(entry + 1) + lengths[i], type_name, sizeof type_name - 1);
        uint64_t index = hash & (capacity - 1);
        while (header[4 + 2 * index] != 0) index = (index + 1) & (capacity - 1);
        header[4 + 2 * index] = offset;
        header[4 + 2 * index + 1] = hash;
    }
    uint64_t sink = 0, next = 0;
    int result = 0;
    for (int round = -1; round < iterations && result == 0; round++) {
        uint64_t start = cref_clock_ns();
        for (int i = 0; i < batch; i++) {
            int which = (int)((next++ * 7919u) % (uint64_t)objects);  // the Swift side's order
            uint64_t found = table_find(base, 0, names[which], lengths[which]);
            if (found == 0) result = -1;
            sink += found;
        }
        uint64_t end = cref_clock_ns();
        if (round >= 0) samples[round] = end - start;
    }
    __asm__ __volatile__("" : : "r"(sink));
    free(base), free(names), free(lengths);
    if (result != 0) errno = EPROTO;
    return result;
}
