// SPDX-License-Identifier: GPL-2.0-only
/* The trampoline hole: free in the image's layout and in ours, or a clear -ENOSPC. */
#include <errno.h>
#include <stdio.h>

#include "inject.h"
#include "tap.h"

static bool hits_own_maps(uint64_t s, uint64_t e)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long long a, b;
	char line[512];
	bool hit = false;

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a < e && s < b)
			hit = true;
	fclose(f);
	return hit;
}

int main(void)
{
	struct inj_range busy[2];
	uint64_t first, second, all;

	tap_plan(6);
	ok(inj_pick_hole(NULL, 0, &first) == 0, "a hole exists with nothing busy");
	ok(first % INJ_PAGE == 0 && !hits_own_maps(first, first + INJ_HOLE_SIZE),
	   "it misses every mapping of this process (%#llx)", (unsigned long long)first);
	busy[0] = (struct inj_range){ first, first + 1 }; /* one byte is enough to disqualify */
	ok(inj_pick_hole(busy, 1, &second) == 0, "a second hole when the first is busy");
	ok(second >= first + INJ_HOLE_SIZE || second + INJ_HOLE_SIZE <= first,
	   "it does not overlap the busy range (%#llx)", (unsigned long long)second);
	busy[0] = (struct inj_range){ 0, ~0ULL };
	all = 7;
	is_int(inj_pick_hole(busy, 1, &all), -ENOSPC, "everything busy: -ENOSPC");
	is_int(all, 7, "the output is left alone on failure");
	return done_testing();
}
