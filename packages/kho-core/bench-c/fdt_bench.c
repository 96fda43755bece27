// SPDX-License-Identifier: GPL-2.0-only
/*
 * The libfdt side of the FDT cases of `npm run bench`: the same libfdt calls
 * khosim models, timed here in process CPU time (CLOCK_PROCESS_CPUTIME_ID),
 * the mean of REPS runs back to back (as the TypeScript side is timed, where
 * the mean carries the garbage collector's share). Built by the bench into a
 * temporary folder with -lfdt.
 *
 *   fdt_bench [--wall] root NSUB BUFSIZE REPS MAP_PA OUT
 *     kho_init()'s sequential write of the root KHO FDT (not timed), then
 *     NSUB x kho_add_subtree(): fdt_open_into, fdt_add_subnode under the
 *     root, fdt_setprop preserved-data then blob-size, fdt_pack (timed).
 *     Subtree i is "subtree-<i>" at SUB_PA + i * SUB_STEP, blob-size
 *     SUB_SIZE + i. Writes the whole BUFSIZE buffer of the last rep to OUT
 *     (stale bytes past totalsize included) and prints "ns=N totalsize=T".
 *
 *   fdt_bench [--wall] walk FILE REPS
 *     fdt_check_full on the file, then every node (fdt_next_node,
 *     fdt_get_name) and every property of each (fdt_first_property_offset,
 *     fdt_next_property_offset, fdt_getprop_by_offset). Prints the time of
 *     the check alone and of check + walk, and what the walk saw:
 *     "check_ns=N walk_ns=N nodes=N props=N name_bytes=N value_bytes=N
 *     digest=0xH" (the digest is taken in one more, untimed, pass).
 *
 * --wall times in CLOCK_MONOTONIC instead, for `npm run bench -- --clock wall`.
 */
#define _GNU_SOURCE
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What kho_add_subtree() records for subtree i (any distinct values do). */
#define SUB_PA 0x100000000ULL
#define SUB_STEP 0x10000ULL
#define SUB_SIZE 0x1000ULL

static clockid_t clock_id = CLOCK_PROCESS_CPUTIME_ID;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, fdt_strerror(err));
	exit(1);
}

/* kho_init(): a zeroed buffer, no reserve entries, the root with compatible then the radix root's PA. */
static void root_create(void *fdt, int bufsize, uint64_t map_pa)
{
	int err = 0;

	err |= fdt_create(fdt, bufsize);
	err |= fdt_finish_reservemap(fdt);
	err |= fdt_begin_node(fdt, "");
	err |= fdt_property_string(fdt, "compatible", "kho-v4");
	/* KHO stores physical addresses CPU-native, as the kernel does on x86-64 and arm64. */
	err |= fdt_property(fdt, "preserved-memory-map", &map_pa, sizeof(map_pa));
	err |= fdt_end_node(fdt);
	err |= fdt_finish(fdt);
	if (err)
		die("root FDT", err);
}

/* kho_add_subtree() on success: open, add the node, both properties, pack. */
static void add_subtree(void *fdt, int bufsize, int i)
{
	char name[32];
	uint64_t pa = SUB_PA + (uint64_t)i * SUB_STEP;
	uint64_t size = SUB_SIZE + (uint64_t)i;
	int off, err;

	snprintf(name, sizeof(name), "subtree-%d", i);
	err = fdt_open_into(fdt, fdt, bufsize);
	if (err)
		die("fdt_open_into", err);
	off = fdt_add_subnode(fdt, 0, name);
	if (off < 0)
		die(name, off);
	err = fdt_setprop(fdt, off, "preserved-data", &pa, sizeof(pa));
	err = err ? err : fdt_setprop(fdt, off, "blob-size", &size, sizeof(size));
	if (err)
		die(name, err);
	err = fdt_pack(fdt);
	if (err)
		die("fdt_pack", err);
}

static int cmd_root(int nsub, int bufsize, int reps, uint64_t map_pa, const char *out)
{
	void *fdt = malloc(bufsize);
	uint64_t total = 0;
	FILE *f;

	if (!fdt)
		return 3;
	for (int r = 0; r < reps; r++) {
		root_create(fdt, bufsize, map_pa);
		uint64_t t0 = now_ns();
		for (int i = 0; i < nsub; i++)
			add_subtree(fdt, bufsize, i);
		total += now_ns() - t0;
	}
	f = fopen(out, "wb");
	if (!f || fwrite(fdt, 1, bufsize, f) != (size_t)bufsize || fclose(f))
		return 4;
	printf("ns=%llu totalsize=%u\n", (unsigned long long)(total / reps), fdt_totalsize(fdt));
	free(fdt);
	return 0;
}

struct walk {
	long nodes, props, name_bytes, value_bytes;
	uint32_t digest;
};

/* FNV-1a over the bytes, then a NUL so that names and values cannot run into each other. */
static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h * 16777619u; /* the NUL: h ^ 0 is h */
}

/* Every node in document order and every property of each, as a reader of the whole tree does. */
static void walk(const void *fdt, struct walk *w, int digest)
{
	int depth = 0, node, prop;

	memset(w, 0, sizeof(*w));
	w->digest = 2166136261u;
	for (node = fdt_next_node(fdt, -1, &depth); node >= 0; node = fdt_next_node(fdt, node, &depth)) {
		int len;
		const char *name = fdt_get_name(fdt, node, &len);

		if (!name)
			die("fdt_get_name", len);
		w->nodes++;
		w->name_bytes += len;
		if (digest)
			w->digest = fnv(w->digest, name, len);
		fdt_for_each_property_offset(prop, fdt, node) {
			const char *pname;
			const void *v = fdt_getprop_by_offset(fdt, prop, &pname, &len);
			size_t nlen;

			if (!v)
				die("fdt_getprop_by_offset", len);
			nlen = strlen(pname);
			w->props++;
			w->name_bytes += nlen;
			w->value_bytes += len;
			if (digest)
				w->digest = fnv(fnv(w->digest, pname, nlen), v, len);
		}
		if (prop != -FDT_ERR_NOTFOUND)
			die("fdt_next_property_offset", prop);
	}
	if (node != -FDT_ERR_NOTFOUND)
		die("fdt_next_node", node);
}

static int cmd_walk(const char *file, int reps)
{
	FILE *f = fopen(file, "rb");
	uint64_t check = 0, all = 0;
	struct walk w;
	long size;
	void *fdt;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return 4;
	fdt = malloc(size);
	if (!fdt || fread(fdt, 1, size, f) != (size_t)size)
		return 4;
	fclose(f);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();
		int err = fdt_check_full(fdt, size);
		uint64_t t1 = now_ns();

		if (err)
			die("fdt_check_full", err);
		walk(fdt, &w, 0);
		uint64_t t2 = now_ns();

		check += t1 - t0;
		all += t2 - t0;
	}
	walk(fdt, &w, 1);
	printf("check_ns=%llu walk_ns=%llu nodes=%ld props=%ld name_bytes=%ld value_bytes=%ld digest=0x%08x\n",
	       (unsigned long long)(check / reps), (unsigned long long)(all / reps), w.nodes, w.props, w.name_bytes,
	       w.value_bytes, w.digest);
	free(fdt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--wall")) {
		clock_id = CLOCK_MONOTONIC;
		argc--;
		argv++;
	}
	if (argc == 7 && !strcmp(argv[1], "root") && atoi(argv[4]) > 0)
		return cmd_root(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), strtoull(argv[5], NULL, 0), argv[6]);
	if (argc == 4 && !strcmp(argv[1], "walk") && atoi(argv[3]) > 0)
		return cmd_walk(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: fdt_bench root NSUB BUFSIZE REPS MAP_PA OUT | walk FILE REPS\n");
	return 2;
}
