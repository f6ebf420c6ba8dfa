// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of kfuzz's KCOV bookkeeping (selftests/fuzz/kfuzz.h):
 * which PCs count, when an operation counts as new coverage, the edge and
 * PC totals, and the clamp on a full KCOV buffer.  The VM fuzzer can only
 * exercise this with a KCOV kernel; the arithmetic is checked here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../selftests/fuzz/kfuzz.h"

static uint64_t area[KF_KCOV_WORDS];

/* Fill the fake KCOV buffer: count, then the PCs. */
static void trace(const uint64_t *pcs, uint64_t n)
{
	area[0] = n;
	memcpy(&area[1], pcs, n * sizeof(*pcs));
}

int main(void)
{
	const uint64_t base = 0xffffffffc0a00000ull;
	struct kf_cov *cov = calloc(1, sizeof(*cov));
	uint64_t a[] = { base + 0x10, base + 0x20, base + 0x30 };
	uint64_t b[] = { base + 0x30, base + 0x20, base + 0x10 };
	uint64_t out[] = { base - 1, 0xffffffff81000000ull, base + 0x10000, base + 0x40 };
	uint64_t *big = calloc(KF_KCOV_WORDS + 8, sizeof(*big));
	unsigned int fresh;

	tap_start();
	if (!cov || !big)
		return 1;
	cov->base = base;
	cov->size = 0x10000;

	trace(a, 3);
	fresh = kf_cov_collect(cov, area);
	tap_ok(fresh == 6 && cov->npcs == 3 && cov->nedges == 3,
	       "first trace: 3 PCs + 3 edges new (got %u, pcs %u, edges %u)",
	       fresh, cov->npcs, cov->nedges);
	fresh = kf_cov_collect(cov, area);
	tap_ok(fresh == 0 && cov->npcs == 3 && cov->nedges == 3,
	       "the same trace again: nothing new (got %u)", fresh);

	trace(b, 3);
	fresh = kf_cov_collect(cov, area);
	tap_ok(cov->npcs == 3 && fresh == cov->nedges - 3 && fresh >= 2,
	       "same PCs in another order: new edges only (%u new, edges %u)",
	       fresh, cov->nedges);

	trace(out, 4);
	fresh = kf_cov_collect(cov, area);
	tap_ok(cov->npcs == 4 && fresh == 2,
	       "PCs outside the module are ignored, the one inside counts (%u new)",
	       fresh);

	trace(a, 0);
	tap_ok(kf_cov_collect(cov, area) == 0, "an empty trace finds nothing");

	/* A full buffer whose count exceeds its size is clamped, not overrun. */
	big[0] = (uint64_t)KF_KCOV_WORDS * 4;
	for (uint64_t i = 1; i < KF_KCOV_WORDS; i++)
		big[i] = base + 0x1000 + (i % 100) * 4;
	big[KF_KCOV_WORDS] = base + 0x9000;	/* past the buffer: unseen */
	kf_cov_collect(cov, big);
	tap_ok(cov->npcs == 4 + 100 && !(cov->pcs[0x9000 / 8] & 1),
	       "a count beyond the buffer is clamped (pcs %u)", cov->npcs);

	tap_ok(kf_setbit(cov->edges, 77) == 1 && kf_setbit(cov->edges, 77) == 0,
	       "kf_setbit reports a bit once");
	tap_ok(kf_edge_hash(1, 2) != kf_edge_hash(2, 1) &&
	       kf_edge_hash(5, 6) < KF_EDGE_BITS,
	       "edge hash is directed and within the map");
	free(big);
	free(cov);
	return tap_end();
}
