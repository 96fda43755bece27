/*
 * Reference canon listing of DTB files, produced with libfdt's own checker
 * and traversal so the TypeScript decoder can be compared with it.
 *
 * usage: fdt_canon LISTFILE   (one DTB path per line)
 * For every path it prints "#file <path>" and then either the canon lines
 * or a single "INVALID <libfdt error name>" line, or "CRASH" when libfdt
 * itself faults (1.6.1's fdt_check_full dereferences a NULL name for blobs
 * older than v16 whose root name has no '/').
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>

static const char *const err_names[] = {
	"OK", "FDT_ERR_NOTFOUND", "FDT_ERR_EXISTS", "FDT_ERR_NOSPACE",
	"FDT_ERR_BADOFFSET", "FDT_ERR_BADPATH", "FDT_ERR_BADPHANDLE",
	"FDT_ERR_BADSTATE", "FDT_ERR_TRUNCATED", "FDT_ERR_BADMAGIC",
	"FDT_ERR_BADVERSION", "FDT_ERR_BADSTRUCTURE", "FDT_ERR_BADLAYOUT",
	"FDT_ERR_INTERNAL", "FDT_ERR_BADNCELLS", "FDT_ERR_BADVALUE",
	"FDT_ERR_BADOVERLAY", "FDT_ERR_NOPHANDLES", "FDT_ERR_BADFLAGS",
	"FDT_ERR_ALIGNMENT",
};

static const char *err_name(int rc)
{
	int n = -rc;
	if (n > 0 && n < (int)(sizeof(err_names) / sizeof(err_names[0])))
		return err_names[n];
	return "FDT_ERR_UNKNOWN";
}

/* Output of one file is collected first: a failure half-way replaces it. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p) {
			perror("realloc");
			exit(3);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_fmt(struct sbuf *b, const char *fmt, unsigned long long v)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof(tmp), fmt, v);
	sb_put(b, tmp, (size_t)n);
}

/* Names: printable non-space ASCII as is, everything else and '\' as \xHH. */
static void sb_name(struct sbuf *b, const unsigned char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (s[i] >= 0x21 && s[i] <= 0x7e && s[i] != '\\') {
			sb_put(b, (const char *)&s[i], 1);
		} else {
			char tmp[8];
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
			sb_str(b, tmp);
		}
	}
}

static int canon(const void *fdt, size_t size, struct sbuf *out)
{
	int rc, n, i, depth, off, poff;
	size_t maxdepth = size / 4 + 2;
	size_t *stack;
	struct sbuf path = {0};

	rc = fdt_check_full(fdt, size);
	if (rc)
		return rc;

	sb_fmt(out, "header version=%llu", fdt_version(fdt));
	sb_fmt(out, " last_comp=%llu", fdt_last_comp_version(fdt));
	sb_fmt(out, " boot_cpuid=%llu\n", fdt_boot_cpuid_phys(fdt));

	n = fdt_num_mem_rsv(fdt);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		uint64_t a, s;
		rc = fdt_get_mem_rsv(fdt, i, &a, &s);
		if (rc)
			return rc;
		sb_fmt(out, "memreserve 0x%llx", a);
		sb_fmt(out, " 0x%llx\n", s);
	}

	/* stack[d] = length of the path of the node at depth d + 1 */
	stack = calloc(maxdepth, sizeof(*stack));
	if (!stack)
		exit(3);
	sb_str(&path, "");
	depth = 0;
	for (off = fdt_next_node(fdt, -1, &depth); off >= 0;
	     off = fdt_next_node(fdt, off, &depth)) {
		int len;
		const char *name;
		if (depth < 1 || (size_t)depth >= maxdepth) {
			rc = -FDT_ERR_INTERNAL;
			goto fail;
		}
		name = fdt_get_name(fdt, off, &len);
		if (!name) {
			rc = len;
			goto fail;
		}
		path.len = depth == 1 ? 0 : stack[depth - 2];
		if (depth > 1)
			sb_str(&path, "/");
		sb_name(&path, (const unsigned char *)name, (size_t)len);
		stack[depth - 1] = path.len;
		sb_str(out, "node ");
		sb_str(out, path.len ? path.p : "/");
		sb_str(out, "\n");

		for (poff = fdt_first_property_offset(fdt, off); poff >= 0;
		     poff = fdt_next_property_offset(fdt, poff)) {
			const char *pname;
			int plen, k;
			const unsigned char *val =
				fdt_getprop_by_offset(fdt, poff, &pname, &plen);
			if (!val) {
				rc = plen;
				goto fail;
			}
			sb_str(out, "prop ");
			sb_str(out, path.len ? path.p : "/");
			sb_str(out, " ");
			sb_name(out, (const unsigned char *)pname, strlen(pname));
			/* A length libfdt let wrap past 2^31 prints as its u32 and no bytes. */
			sb_fmt(out, " %llu", (unsigned long long)(uint32_t)plen);
			if (plen > 0)
				sb_str(out, " ");
			for (k = 0; k < plen; k++)
				sb_fmt(out, "%02llx", val[k]);
			sb_str(out, "\n");
		}
		if (poff != -FDT_ERR_NOTFOUND) {
			rc = poff;
			goto fail;
		}
	}
	if (off != -FDT_ERR_NOTFOUND && depth >= 0) {
		rc = off;
		goto fail;
	}
	free(stack);
	free(path.p);
	return 0;
fail:
	free(stack);
	free(path.p);
	return rc;
}

static sigjmp_buf crash_jmp;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(crash_jmp, 1);
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	FILE *list;
	char line[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s LISTFILE\n", argv[0]);
		return 2;
	}
	list = fopen(argv[1], "r");
	if (!list) {
		perror(argv[1]);
		return 2;
	}
	while (fgets(line, sizeof(line), list)) {
		FILE *f;
		long size;
		void *buf;
		struct sbuf out = {0};
		int rc;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		f = fopen(line, "rb");
		if (!f) {
			perror(line);
			return 2;
		}
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		fseek(f, 0, SEEK_SET);
		/*
		 * calloc gives the 8-byte alignment libfdt asks of the blob; the
		 * zeroed slack makes libfdt's reads of header words past a short
		 * old-version header deterministic.
		 */
		buf = calloc(1, (size_t)size + 64);
		if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
			perror(line);
			return 2;
		}
		fclose(f);
		printf("#file %s\n", line);
		if (sigsetjmp(crash_jmp, 1)) {
			printf("CRASH\n");
			free(buf);
			continue;
		}
		rc = canon(buf, (size_t)size, &out);
		if (rc)
			printf("INVALID %s\n", err_name(rc));
		else
			fputs(out.p ? out.p : "", stdout);
		free(out.p);
		free(buf);
	}
	fclose(list);
	return 0;
}
