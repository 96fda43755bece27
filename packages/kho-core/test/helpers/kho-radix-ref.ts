import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { buildReference } from "../../src/bench/reference.js";

/**
 * The C reference's own `count` and `keys` commands only know their three
 * generated key streams, so arbitrary (phys, order) sequences cannot be
 * passed through them. This driver compiles the unmodified radix_ref.c into
 * the same translation unit (its `main` renamed) and drives the reference's
 * own tree_init / tree_add / tree_del / tree_walk with operations read from
 * standard input, one per line:
 *
 *   a <phys> <order>    add the key
 *   d <phys> <order>    delete the key
 *
 * It prints the node-page count of the arena (what `count` reports as
 * tree_pages), then every walked block as "<phys> <order>" in walk order.
 */
const DRIVER = `
#define main radix_ref_main
#include RADIX_REF_SOURCE
#undef main

static void print_cb(void *ctx, uint64_t phys, unsigned order)
{
	(void)ctx;
	printf("0x%" PRIx64 " %u\\n", phys, order);
}

int main(int argc, char **argv)
{
	struct geom g;
	struct tree t;
	char op;
	uint64_t phys;
	unsigned order;

	if (argc != 2 || geom_init(&g, (unsigned)atoi(argv[1]))) {
		fprintf(stderr, "usage: kho_feed PAGE_SHIFT < ops\\n");
		return 2;
	}
	tree_init(&t, &g);
	while (scanf(" %c %" SCNx64 " %u", &op, &phys, &order) == 3) {
		if (op == 'a')
			tree_add(&t, phys, order);
		else if (op == 'd')
			tree_del(&t, phys, order);
		else
			return 2;
	}
	printf("%" PRIu64 "\\n", t.a.npages);
	tree_walk(&t, print_cb, NULL);
	tree_free(&t);
	return 0;
}
`;

/**
 * Builds the driver once per process into a temporary folder. No source or
 * no compiler is an error: a comparison against the reference must never
 * pass by being skipped.
 */
export function feedBinary(): string {
  return buildReference({
    name: "kho_feed",
    what: "the reference driver",
    files: { "kho_feed.c": DRIVER },
    args: (src, dir) => ["-O2", "-std=gnu11", `-DRADIX_REF_SOURCE="${src}"`, join(dir, "kho_feed.c")],
  });
}

export interface RadixOp {
  readonly op: "a" | "d";
  readonly pa: number;
  readonly order: number;
}

export interface FeedResult {
  readonly treePages: number;
  readonly walk: [number, number][];
}

/** Runs the reference tree on `ops` for a page shift. */
export function feedReference(pageShift: number, ops: readonly RadixOp[]): FeedResult {
  const input = ops.map((o) => `${o.op} ${o.pa.toString(16)} ${o.order}\n`).join("");
  const text = execFileSync(feedBinary(), [String(pageShift)], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  const [count, ...rest] = text.trimEnd().split("\n");
  return {
    treePages: Number(count),
    walk: rest
      .filter((l) => l !== "")
      .map((l) => {
        const [p, o] = l.split(" ");
        return [Number(BigInt(p!)), Number(o)];
      }),
  };
}
