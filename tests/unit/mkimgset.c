// SPDX-License-Identifier: GPL-2.0-only
/*
 * mkimgset DIR: write the synthetic image set of tests/lib/imgset.c, for the script tests
 * (crit_decode.t). Not a test itself: run.sh only runs test_*.
 */
#define LOG_PREFIX "mkimgset: "
#include "img.h"
#include "imgset.h"
#include "log.h"

int main(int argc, char **argv)
{
	log_init("mkimgset");
	if (argc != 2) {
		pr_err("usage: mkimgset DIR (a new or empty directory)");
		return 64;
	}
	if (imgset_write(argv[1])) {
		pr_err("%s", img_error());
		return 1;
	}
	return 0;
}
