// SPDX-License-Identifier: GPL-2.0-only
/*
 * imgdump DIR: every field of every message of an image set, one line each, in a stable
 * order ("core-42.img #0 tc.oom_score_adj = 400"), for the round-trip test (roundtrip.t):
 * dump, restore, dump again, and diff the two listings. Walks the protobuf-c descriptors,
 * so a field added to any image is compared without touching this file. Queue payloads
 * (sk-queues, pipes-data) print as a length and a hash; pagemap and pages are left out
 * (their contents are the task's memory, which runs on between the two dumps).
 * Not a test itself (no test_ prefix).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "img.h"
#include "mm.pb-c.h"
#include "pb.h"
#include "pipe_data.pb-c.h"
#include "sk_packet.pb-c.h"

static uint64_t fnv(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *b++) * 1099511628211ULL;
	return h;
}

static void print_msg(const char *pfx, const ProtobufCMessage *m);

static void print_value(const char *pfx, const ProtobufCFieldDescriptor *f, const void *v)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		printf("%s = %" PRId32 "\n", pfx, *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		printf("%s = %" PRIu32 "\n", pfx, *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		printf("%s = %" PRId64 "\n", pfx, *(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		printf("%s = %#" PRIx64 "\n", pfx, *(const uint64_t *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		printf("%s = %s\n", pfx, *(const protobuf_c_boolean *)v ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		printf("%s = %g\n", pfx, (double)*(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		printf("%s = %g\n", pfx, *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_STRING:
		printf("%s = \"%s\"\n", pfx, *(char *const *)v ? *(char *const *)v : "");
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;

		printf("%s = %zu bytes, hash %016" PRIx64 "\n", pfx, b->len, fnv(b->data, b->len));
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *)v)
			print_msg(pfx, *(ProtobufCMessage *const *)v);
		break;
	}
}

static size_t type_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static void print_msg(const char *pfx, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char name[512];
	unsigned int i;
	size_t j;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *member = (const char *)m + f->offset;

		snprintf(name, sizeof(name), "%s%s%s", pfx, *pfx ? "." : "", f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const char *arr = *(char *const *)member;

			for (j = 0; j < n; j++) {
				char el[560];

				snprintf(el, sizeof(el), "%s[%zu]", name, j);
				print_value(el, f, arr + j * type_size(f));
			}
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING &&
		    !*(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset))
			continue;
		print_value(name, f, member);
	}
}

/*
 * The kernel merges adjacent mappings with the same attributes when crux maps them one by
 * one, where the dumped process had them apart (a part once written has an anon_vma of
 * its own, for instance). Print the layout merged the same way, so that only a real
 * difference of addresses, protection, kind, file, offset or flags shows.
 */
static bool vma_joins(const VmaEntry *a, const VmaEntry *b)
{
	bool file = a->shmid != 0;

	return a->end == b->start && a->prot == b->prot && a->flags == b->flags &&
	       a->status == b->status && a->shmid == b->shmid && a->madv == b->madv &&
	       a->has_madv == b->has_madv && a->fdflags == b->fdflags &&
	       (!file || b->pgoff == a->pgoff + (a->end - a->start));
}

/* Print mm with its layout merged; mm is left as it was (pb_free() frees every VMA). */
static void print_mm(const char *pfx, MmEntry *mm)
{
	VmaEntry **all = mm->vmas, **merged = calloc(mm->n_vmas + 1, sizeof(*merged));
	size_t i, n = 0, total = mm->n_vmas;

	if (!merged) {
		print_msg(pfx, &mm->base);
		return;
	}
	for (i = 0; i < total; i++) {
		if (n && vma_joins(merged[n - 1], all[i]))
			merged[n - 1]->end = all[i]->end;
		else
			merged[n++] = all[i];
	}
	mm->vmas = merged;
	mm->n_vmas = n;
	print_msg(pfx, &mm->base);
	mm->vmas = all;
	mm->n_vmas = total;
	free(merged);
}

/* The payload after a message of sk-queues.img or pipes-data.img, as a length and a hash. */
static int payload(struct img *img, enum img_type t, const void *msg, const char *pfx)
{
	size_t len = t == IMG_SK_QUEUES ? ((const SkPacketEntry *)msg)->length :
					  ((const PipeDataEntry *)msg)->bytes;
	char *buf = malloc(len ? len : 1);
	int err;

	if (!buf)
		return -ENOMEM;
	err = img_read_payload(img, buf, len);
	if (!err)
		printf("%s.payload = %zu bytes, hash %016" PRIx64 "\n", pfx, len, fnv(buf, len));
	free(buf);
	return err;
}

static int dump_file(int dfd, const char *name)
{
	enum img_type t;
	unsigned long key;
	struct img *img;
	void *msg;
	int err, n = 0;

	if (img_parse_name(name, &t, &key) || t == IMG_PAGES || t == IMG_PAGEMAP)
		return 0;
	err = img__open(dfd, t, key, IMG_READ, &img);
	if (err)
		return err;
	while ((err = img_read_one(img, img_type_desc(t), &msg)) == 1) {
		char pfx[300];

		snprintf(pfx, sizeof(pfx), "%s #%d", name, n++);
		if (t == IMG_MM)
			print_mm(pfx, msg);
		else
			print_msg(pfx, msg);
		if (t == IMG_SK_QUEUES || t == IMG_PIPES_DATA)
			err = payload(img, t, msg, pfx);
		pb_free(msg);
		if (err < 0)
			break;
	}
	img__close(img);
	return err < 0 ? err : 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	struct dirent **ents;
	int dfd, n, i, err = 0;

	if (argc != 2) {
		dprintf(2, "usage: imgdump DIR\n");
		return 64;
	}
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = dfd < 0 ? -1 : scandir(argv[1], &ents, NULL, by_name);
	if (n < 0) {
		dprintf(2, "imgdump: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (!err && ents[i]->d_name[0] != '.')
			err = dump_file(dfd, ents[i]->d_name);
		if (err)
			dprintf(2, "imgdump: %s/%s: %s %s\n", argv[1], ents[i]->d_name,
				strerror(-err), img_error());
		free(ents[i]);
	}
	free(ents);
	close(dfd);
	return err ? 1 : 0;
}
