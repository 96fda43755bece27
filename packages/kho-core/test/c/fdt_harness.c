// SPDX-License-Identifier: GPL-2.0-only
/*
 * Script interpreter over the system libfdt: the oracle the TypeScript FDT
 * code is compared with, byte for byte.
 *
 * Input (stdin): one command a line, tokens separated by blanks. Names,
 * paths and values are hex strings ("." is the empty string) so that any
 * byte, blanks included, can be passed. Numbers take C prefixes (0x...).
 * Output: exactly one line per command, so the two sides can be compared
 * line by line.
 *
 *   buf SIZE SEED         new buffer, byte i = (i*131 + SEED) & 0xff  -> "#"
 *   poke OFF HEX          raw bytes into the buffer                  -> "0"
 *   create SIZE [FLAGS]   fdt_create_with_flags                      -> rc
 *   rsv ADDR SIZE         fdt_add_reservemap_entry                   -> rc
 *   finish_rsvmap | end | finish                                     -> rc
 *   begin NAME            fdt_begin_node                             -> rc
 *   prop NAME VAL         fdt_property                               -> rc
 *   open_into SIZE        fdt_open_into(buf, buf, SIZE)              -> rc
 *   pack                  fdt_pack                                   -> rc
 *   add_subnode PATH NAME fdt_add_subnode                            -> offset or rc
 *   setprop PATH NAME VAL / appendprop PATH NAME VAL                 -> rc
 *   delprop PATH NAME / del_node PATH / set_name PATH NAME           -> rc
 *   add_mem_rsv ADDR SIZE / del_mem_rsv N                            -> rc
 *   check_header                                                     -> rc
 *   path PATH             fdt_path_offset                            -> offset or rc
 *   subnode OFF NAME      fdt_subnode_offset                         -> offset or rc
 *   getprop PATH NAME     fdt_getprop                                -> "LEN HEX" or rc
 *   compat PATH STR       fdt_node_check_compatible                  -> rc
 *   children PATH         first/next_subnode: "OFF:NAMEHEX ... ;RC"
 *   props PATH            first/next_property_offset: "OFF:NAMEHEX:LEN ... ;RC"
 *   name OFF              fdt_get_name                               -> "NAMEHEX" or rc
 *   rsvmap                fdt_num_mem_rsv + entries: "N A:S ..." or rc
 *   dump                  the whole buffer in hex
 * PATH may also be "#N", the node at struct offset N. A path that does not
 * resolve prints its error instead of running the call.
 */
#include <ctype.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *buf;
static size_t bufcap;

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes a hex token into a fresh NUL-terminated buffer; *len gets the byte count. */
static unsigned char *unhex(const char *tok, int *len)
{
	size_t n = (tok && strcmp(tok, ".") != 0) ? strlen(tok) / 2 : 0;
	unsigned char *out = calloc(n + 1, 1);

	if (!out)
		exit(3);
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)tok[2 * i]);
		int lo = hexval((unsigned char)tok[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fprintf(stderr, "bad hex token %s\n", tok);
			exit(2);
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	if (len)
		*len = (int)n;
	return out;
}

static void puthex(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	if (n == 0) {
		putchar('.');
		return;
	}
	for (size_t i = 0; i < n; i++) {
		putchar(digits[p[i] >> 4]);
		putchar(digits[p[i] & 15]);
	}
}

static unsigned long long num(const char *tok)
{
	if (!tok) {
		fprintf(stderr, "missing number\n");
		exit(2);
	}
	return strtoull(tok, NULL, 0);
}

/* Resolves a hex-encoded path; prints the libfdt error and returns -1 when it fails. */
static int node_at(const char *tok, int *off)
{
	unsigned char *path;

	/* "#N" names a node by its offset, as the kernel's callers hold them. */
	if (tok && tok[0] == '#') {
		*off = (int)strtol(tok + 1, NULL, 10);
		return 0;
	}
	path = unhex(tok, NULL);

	*off = fdt_path_offset(buf, (const char *)path);
	free(path);
	if (*off < 0) {
		printf("%d\n", *off);
		return -1;
	}
	return 0;
}

int main(void)
{
	static char line[1 << 20];

	/* Line by line, so the output of a crashing run still ends at the culprit. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	while (fgets(line, sizeof(line), stdin)) {
		char *argv[8] = { 0 };
		int argc = 0;

		for (char *t = strtok(line, " \t\r\n"); t && argc < 8; t = strtok(NULL, " \t\r\n"))
			argv[argc++] = t;
		if (argc == 0)
			continue;

		const char *cmd = argv[0];
		int off, rc, len;
		unsigned char *a, *b;

		if (!strcmp(cmd, "buf")) {
			size_t size = num(argv[1]);
			unsigned seed = num(argv[2]);

			free(buf);
			/* libfdt wants an 8-byte aligned blob. */
			buf = aligned_alloc(8, (size + 7) & ~(size_t)7);
			if (!buf)
				exit(3);
			bufcap = size;
			for (size_t i = 0; i < size; i++)
				buf[i] = (unsigned char)((i * 131 + seed) & 0xff);
			puts("#");
		} else if (!buf) {
			fprintf(stderr, "no buffer before %s\n", cmd);
			exit(2);
		} else if (!strcmp(cmd, "poke")) {
			size_t at = num(argv[1]);

			a = unhex(argv[2], &len);
			if (at + len > bufcap)
				exit(2);
			memcpy(buf + at, a, len);
			free(a);
			puts("0");
		} else if (!strcmp(cmd, "create")) {
			printf("%d\n", fdt_create_with_flags(buf, (int)num(argv[1]),
							     argc > 2 ? (uint32_t)num(argv[2]) : 0));
		} else if (!strcmp(cmd, "rsv")) {
			printf("%d\n", fdt_add_reservemap_entry(buf, num(argv[1]), num(argv[2])));
		} else if (!strcmp(cmd, "finish_rsvmap")) {
			printf("%d\n", fdt_finish_reservemap(buf));
		} else if (!strcmp(cmd, "begin")) {
			a = unhex(argv[1], NULL);
			printf("%d\n", fdt_begin_node(buf, (const char *)a));
			free(a);
		} else if (!strcmp(cmd, "prop")) {
			a = unhex(argv[1], NULL);
			b = unhex(argv[2], &len);
			printf("%d\n", fdt_property(buf, (const char *)a, b, len));
			free(a);
			free(b);
		} else if (!strcmp(cmd, "end")) {
			printf("%d\n", fdt_end_node(buf));
		} else if (!strcmp(cmd, "finish")) {
			printf("%d\n", fdt_finish(buf));
		} else if (!strcmp(cmd, "open_into")) {
			printf("%d\n", fdt_open_into(buf, buf, (int)num(argv[1])));
		} else if (!strcmp(cmd, "pack")) {
			printf("%d\n", fdt_pack(buf));
		} else if (!strcmp(cmd, "check_header")) {
			printf("%d\n", fdt_check_header(buf));
		} else if (!strcmp(cmd, "add_mem_rsv")) {
			printf("%d\n", fdt_add_mem_rsv(buf, num(argv[1]), num(argv[2])));
		} else if (!strcmp(cmd, "del_mem_rsv")) {
			printf("%d\n", fdt_del_mem_rsv(buf, (int)num(argv[1])));
		} else if (!strcmp(cmd, "path")) {
			if (node_at(argv[1], &off) == 0)
				printf("%d\n", off);
		} else if (!strcmp(cmd, "subnode")) {
			a = unhex(argv[2], NULL);
			printf("%d\n", fdt_subnode_offset(buf, (int)num(argv[1]), (const char *)a));
			free(a);
		} else if (!strcmp(cmd, "name")) {
			const char *n = fdt_get_name(buf, (int)num(argv[1]), &len);

			if (n)
				puthex((const unsigned char *)n, len), putchar('\n');
			else
				printf("%d\n", len);
		} else if (!strcmp(cmd, "dump")) {
			puthex(buf, bufcap);
			putchar('\n');
		} else if (!strcmp(cmd, "rsvmap")) {
			int n = fdt_num_mem_rsv(buf);

			printf("%d", n);
			for (int i = 0; i < n; i++) {
				uint64_t addr, size;

				rc = fdt_get_mem_rsv(buf, i, &addr, &size);
				if (rc)
					printf(" %d", rc);
				else
					printf(" %llx:%llx", (unsigned long long)addr, (unsigned long long)size);
			}
			putchar('\n');
		} else if (node_at(argv[1], &off) != 0) {
			/* error already printed */
		} else if (!strcmp(cmd, "add_subnode")) {
			a = unhex(argv[2], NULL);
			printf("%d\n", fdt_add_subnode(buf, off, (const char *)a));
			free(a);
		} else if (!strcmp(cmd, "setprop") || !strcmp(cmd, "appendprop")) {
			a = unhex(argv[2], NULL);
			b = unhex(argv[3], &len);
			if (cmd[0] == 's')
				rc = fdt_setprop(buf, off, (const char *)a, b, len);
			else
				rc = fdt_appendprop(buf, off, (const char *)a, b, len);
			printf("%d\n", rc);
			free(a);
			free(b);
		} else if (!strcmp(cmd, "delprop")) {
			a = unhex(argv[2], NULL);
			printf("%d\n", fdt_delprop(buf, off, (const char *)a));
			free(a);
		} else if (!strcmp(cmd, "del_node")) {
			printf("%d\n", fdt_del_node(buf, off));
		} else if (!strcmp(cmd, "set_name")) {
			a = unhex(argv[2], NULL);
			printf("%d\n", fdt_set_name(buf, off, (const char *)a));
			free(a);
		} else if (!strcmp(cmd, "getprop")) {
			a = unhex(argv[2], NULL);
			const unsigned char *v = fdt_getprop(buf, off, (const char *)a, &len);

			if (v)
				printf("%d ", len), puthex(v, len), putchar('\n');
			else
				printf("%d\n", len);
			free(a);
		} else if (!strcmp(cmd, "compat")) {
			a = unhex(argv[2], NULL);
			printf("%d\n", fdt_node_check_compatible(buf, off, (const char *)a));
			free(a);
		} else if (!strcmp(cmd, "children")) {
			int c;

			for (c = fdt_first_subnode(buf, off); c >= 0; c = fdt_next_subnode(buf, c)) {
				const char *n = fdt_get_name(buf, c, &len);

				printf("%d:", c);
				puthex((const unsigned char *)n, n ? len : 0);
				putchar(' ');
			}
			printf(";%d\n", c);
		} else if (!strcmp(cmd, "props")) {
			int p;

			for (p = fdt_first_property_offset(buf, off); p >= 0;
			     p = fdt_next_property_offset(buf, p)) {
				const char *n;
				const void *v = fdt_getprop_by_offset(buf, p, &n, &len);

				printf("%d:", p);
				if (v)
					puthex((const unsigned char *)n, strlen(n));
				printf(":%d ", len);
			}
			printf(";%d\n", p);
		} else {
			fprintf(stderr, "unknown command %s\n", cmd);
			return 2;
		}
	}
	return 0;
}
