// SPDX-License-Identifier: GPL-2.0-only
/*
 * Image files and image directories (include/img.h). Reads are bounded by the file's size:
 * a length field is checked against IMG_MSG_MAX and against the bytes left before anything
 * is allocated, so a corrupt image is refused with its name and offset, never trusted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_PREFIX "img: "
#include "img.h"
#include "img_int.h"
#include "fault.h"
#include "log.h"
#include "pb.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_ext.pb-c.h"
#include "crux_inet.pb-c.h"
#include "crux_task.pb-c.h"
#include "crux_fds.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file_lock.pb-c.h"
#include "fs.pb-c.h"
#include "ids.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pipe_data.pb-c.h"
#include "pstree.pb-c.h"
#include "seccomp.pb-c.h"
#include "sk_packet.pb-c.h"
#include "tcp_stream.pb-c.h"

#define IMG_BUF_SIZE (64u << 10)

static const struct img_kind {
	const char *prefix;
	uint32_t magic;
	bool keyed;
	const ProtobufCMessageDescriptor *desc;
} kinds[IMG_TYPE_MAX] = {
	[IMG_INVENTORY] = { "inventory", IMG_MAGIC_INVENTORY, false, &inventory_entry__descriptor },
	[IMG_PSTREE] = { "pstree", IMG_MAGIC_PSTREE, false, &pstree_entry__descriptor },
	[IMG_CORE] = { "core", IMG_MAGIC_CORE, true, &core_entry__descriptor },
	[IMG_IDS] = { "ids", IMG_MAGIC_IDS, true, &task_kobj_ids_entry__descriptor },
	[IMG_FS] = { "fs", IMG_MAGIC_FS, true, &fs_entry__descriptor },
	[IMG_MM] = { "mm", IMG_MAGIC_MM, true, &mm_entry__descriptor },
	[IMG_PAGEMAP] = { "pagemap", IMG_MAGIC_PAGEMAP, true, &pagemap_head__descriptor },
	[IMG_PAGES] = { "pages", 0, true, NULL },
	[IMG_FDINFO] = { "fdinfo", IMG_MAGIC_FDINFO, true, &fdinfo_entry__descriptor },
	[IMG_FILES] = { "files", IMG_MAGIC_FILES, false, &file_entry__descriptor },
	[IMG_SK_QUEUES] = { "sk-queues", IMG_MAGIC_SK_QUEUES, false, &sk_packet_entry__descriptor },
	[IMG_PIPES_DATA] = { "pipes-data", IMG_MAGIC_PIPES_DATA, false,
			     &pipe_data_entry__descriptor },
	[IMG_FILE_LOCKS] = { "file-lock", IMG_MAGIC_FILE_LOCKS, false,
			     &file_lock_entry__descriptor },
	[IMG_SECCOMP] = { "seccomp", IMG_MAGIC_SECCOMP, false, &seccomp_entry__descriptor },
	/* crux's own images live in a subdirectory, where crit (which decodes any *.img of
	 * the directory it is given, and knows no crux magic) does not look */
	[IMG_CRUX_EXT] = { IMG_CRUX_DIR "/crux-ext", IMG_MAGIC_CRUX_EXT, false,
			   &crux_ext_entry__descriptor },
	[IMG_CRUX_TASK] = { IMG_CRUX_DIR "/crux-task", IMG_MAGIC_CRUX_TASK, true,
			    &crux_task_entry__descriptor },
	[IMG_CRUX_FDS] = { IMG_CRUX_DIR "/crux-fds", IMG_MAGIC_CRUX_FDS, false,
			   &crux_fd_entry__descriptor },
	[IMG_TCP_STREAM] = { "tcp-stream", IMG_MAGIC_TCP_STREAM, true,
			     &tcp_stream_entry__descriptor },
	[IMG_CRUX_INET] = { IMG_CRUX_DIR "/crux-inet", IMG_MAGIC_CRUX_INET, false,
			    &crux_inet_entry__descriptor },
	[IMG_CRUX_DGRAM] = { IMG_CRUX_DIR "/crux-dgram", IMG_MAGIC_CRUX_DGRAM, false,
			     &crux_dgram_entry__descriptor },
	[IMG_CRUX_NETLINK] = { IMG_CRUX_DIR "/crux-netlink", IMG_MAGIC_CRUX_NETLINK, false,
			       &crux_inet_entry__descriptor },
	[IMG_SHMEM_PAGEMAP] = { "pagemap-shmem", IMG_MAGIC_PAGEMAP, true,
				&pagemap_head__descriptor },
};

struct img {
	int fd;
	enum img_type type;
	bool write;
	int err; /* writer: sticky I/O error */
	uint64_t off; /* logical offset: what the caller has read or written */
	uint64_t size; /* reader: file size at open */
	uint8_t *buf;
	size_t len; /* writer: bytes buffered; reader: bytes in buf */
	size_t pos; /* reader: next byte in buf */
	char name[64];
};

static __thread char img_errbuf[512];

const char *img_error(void)
{
	return img_errbuf;
}

int img_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(img_errbuf, sizeof(img_errbuf), fmt, ap);
	va_end(ap);
	pr_debug("%s", img_errbuf);
	return err;
}

static bool type_valid(enum img_type t)
{
	return (unsigned int)t < IMG_TYPE_MAX;
}

uint32_t img_type_magic(enum img_type t)
{
	return type_valid(t) ? kinds[t].magic : 0;
}

bool img_type_keyed(enum img_type t)
{
	return type_valid(t) && kinds[t].keyed;
}

const ProtobufCMessageDescriptor *img_type_desc(enum img_type t)
{
	return type_valid(t) ? kinds[t].desc : NULL;
}

int img_name(enum img_type t, unsigned long key, char *buf, size_t size)
{
	int n;

	if (!type_valid(t))
		return -EINVAL;
	if (kinds[t].keyed)
		n = snprintf(buf, size, "%s-%lu.img", kinds[t].prefix, key);
	else
		n = snprintf(buf, size, "%s.img", kinds[t].prefix);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int img_parse_name(const char *name, enum img_type *ret_type, unsigned long *ret_key)
{
	size_t n = strlen(name), plen;
	char digits[32];
	uint64_t key;
	int t;

	if (n < 4 || strcmp(name + n - 4, ".img"))
		return -ENOENT;
	n -= 4;
	for (t = 0; t < IMG_TYPE_MAX; t++) {
		plen = strlen(kinds[t].prefix);
		if (n < plen || strncmp(name, kinds[t].prefix, plen))
			continue;
		if (!kinds[t].keyed) {
			if (n != plen)
				continue;
			key = 0;
		} else {
			if (n <= plen + 1 || name[plen] != '-' || n - plen - 1 >= sizeof(digits))
				continue;
			memcpy(digits, name + plen + 1, n - plen - 1);
			digits[n - plen - 1] = '\0';
			if (parse_u64(digits, 0, ULONG_MAX, &key))
				continue;
		}
		*ret_type = t;
		*ret_key = key;
		return 0;
	}
	return -ENOENT;
}

/* Writer: push the buffer to the file; the first failure sticks. */
static int wr_flush(struct img *img)
{
	size_t done = 0;
	ssize_t n;

	fault_point();
	while (!img->err && done < img->len) {
		n = write(img->fd, img->buf + done, img->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			img->err = n < 0 ? -errno : -EIO;
		else
			done += n;
	}
	img->len = 0;
	if (img->err)
		return img_fail(img->err, "%s: write failed at offset %llu: %s", img->name,
				(unsigned long long)img->off, strerror(-img->err));
	return 0;
}

static int wr(struct img *img, const void *p, size_t len)
{
	const uint8_t *src = p;
	size_t n;
	int err;

	if (img->err)
		return img->err;
	while (len) {
		if (img->len == IMG_BUF_SIZE) {
			err = wr_flush(img);
			if (err)
				return err;
		}
		n = MIN(len, IMG_BUF_SIZE - img->len);
		memcpy(img->buf + img->len, src, n);
		img->len += n;
		img->off += n;
		src += n;
		len -= n;
	}
	return 0;
}

/* Reader: up to len bytes; returns how many (short only at end of file) or -errno. */
static ssize_t rd(struct img *img, void *p, size_t len)
{
	uint8_t *dst = p;
	size_t got = 0, n;
	ssize_t r;

	while (got < len) {
		if (img->pos == img->len) {
			/* Large reads (pages, big payloads) go straight to the caller's buffer. */
			bool direct = len - got >= IMG_BUF_SIZE;

			r = read(img->fd, direct ? dst + got : img->buf,
				 direct ? len - got : IMG_BUF_SIZE);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return img_fail(-errno, "%s: read failed at offset %llu: %s",
						img->name, (unsigned long long)img->off,
						strerror(errno));
			if (r == 0)
				break;
			if (direct) {
				img->off += r;
				got += r;
				continue;
			}
			img->len = r;
			img->pos = 0;
		}
		n = MIN(len - got, img->len - img->pos);
		memcpy(dst + got, img->buf + img->pos, n);
		img->pos += n;
		img->off += n;
		got += n;
	}
	return got;
}

uint64_t img_remaining(const struct img *img)
{
	return img->size > img->off ? img->size - img->off : 0;
}

static int check_magic(struct img *img, uint32_t want, const char *what)
{
	uint64_t at = img->off;
	uint32_t got;
	ssize_t n;

	n = rd(img, &got, sizeof(got));
	if (n < 0)
		return n;
	if (n < (ssize_t)sizeof(got))
		return img_fail(-EBADMSG, "%s: file ends at offset %llu, inside its %s magic",
				img->name, (unsigned long long)(at + n), what);
	if (got != want)
		return img_fail(-EBADMSG, "%s: bad %s magic 0x%08x at offset %llu (want 0x%08x)",
				img->name, what, got, (unsigned long long)at, want);
	return 0;
}

static int open_magics(struct img *img)
{
	uint32_t magic = kinds[img->type].magic;
	uint32_t common = IMG_MAGIC_COMMON;
	int err;

	if (img->type == IMG_PAGES)
		return 0;
	if (img->write) {
		if (img->type != IMG_INVENTORY)
			wr(img, &common, sizeof(common));
		return wr(img, &magic, sizeof(magic));
	}
	if (img->type != IMG_INVENTORY) {
		err = check_magic(img, common, "common");
		if (err)
			return err;
	}
	return check_magic(img, magic, "file");
}

int img_open_name(int dirfd, enum img_type t, const char *name, int flags, struct img **ret)
{
	int oflags = flags == IMG_WRITE ? O_WRONLY | O_CREAT | O_EXCL : O_RDONLY;
	struct img *img;
	struct stat st;
	int err;

	if (!type_valid(t) || (flags != IMG_READ && flags != IMG_WRITE))
		return img_fail(-EINVAL, "%s: bad image type %d or flags %d", name, t, flags);
	img = calloc(1, sizeof(*img));
	if (!img)
		return img_fail(-ENOMEM, "%s: out of memory", name);
	img->type = t;
	img->write = flags == IMG_WRITE;
	snprintf(img->name, sizeof(img->name), "%s", name);
	img->buf = malloc(IMG_BUF_SIZE);
	if (img->write && strchr(name, '/') && mkdirat(dirfd, IMG_CRUX_DIR, 0700) &&
	    errno != EEXIST) {
		err = img_fail(-errno, "%s: cannot create %s/: %s", name, IMG_CRUX_DIR,
			       strerror(errno));
		goto out_free;
	}
	img->fd = openat(dirfd, name, oflags | O_CLOEXEC, 0600);
	if (img->fd < 0 || !img->buf) {
		err = img->buf ? -errno : -ENOMEM;
		img_fail(err, "%s: cannot %s it: %s", name, img->write ? "create" : "open",
			 strerror(-err));
		goto out_free;
	}
	if (!img->write) {
		if (fstat(img->fd, &st) < 0) {
			err = img_fail(-errno, "%s: fstat: %s", name, strerror(errno));
			goto out_free;
		}
		img->size = st.st_size;
	}
	err = open_magics(img);
	if (err)
		goto out_free;
	*ret = img;
	return 0;

out_free:
	img->err = err; /* nothing worth flushing */
	img__close(img);
	return err;
}

int img__open(int dirfd, enum img_type t, unsigned long key, int flags, struct img **ret)
{
	char name[64];
	int err;

	err = img_name(t, key, name, sizeof(name));
	if (err)
		return img_fail(err, "image type %d: no file name", t);
	return img_open_name(dirfd, t, name, flags, ret);
}

int img__close(struct img *img)
{
	int err = 0;

	if (!img)
		return 0;
	if (img->write && !img->err)
		err = wr_flush(img);
	if (img->fd >= 0 && close(img->fd) < 0 && img->write && !err)
		err = img_fail(-errno, "%s: close: %s", img->name, strerror(errno));
	free(img->buf);
	free(img);
	return err;
}

const char *img_path(const struct img *img)
{
	return img->name;
}

uint64_t img_offset(const struct img *img)
{
	return img->off;
}

int img_write_one(struct img *img, const ProtobufCMessage *msg)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t size;
	uint32_t len;
	int err;

	if (!img->write || img->type == IMG_PAGES)
		return img_fail(-EINVAL, "%s: not open for writing messages", img->name);
	if (!pb_check(msg))
		return img_fail(-EINVAL, "%s: %s message at offset %llu misses a required field",
				img->name, pb_name(msg->descriptor), (unsigned long long)img->off);
	size = pb_packed_size(msg);
	if (size > IMG_MSG_MAX)
		return img_fail(-EFBIG, "%s: %s message of %zu bytes exceeds the %u-byte limit",
				img->name, pb_name(msg->descriptor), size, IMG_MSG_MAX);
	buf = malloc(size ? size : 1);
	if (!buf)
		return img_fail(-ENOMEM, "%s: out of memory", img->name);
	len = pb_pack(msg, buf);
	err = wr(img, &len, sizeof(len));
	return err ?: wr(img, buf, len);
}

int img_read_one(struct img *img, const ProtobufCMessageDescriptor *desc, void **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t at = img->off;
	uint32_t len;
	void *msg;
	ssize_t n;

	if (img->write || img->type == IMG_PAGES)
		return img_fail(-EINVAL, "%s: not open for reading messages", img->name);
	n = rd(img, &len, sizeof(len));
	if (n <= 0)
		return n; /* 0: a clean end of the list */
	if (n < (ssize_t)sizeof(len))
		return img_fail(-EBADMSG,
				"%s: truncated: length at offset %llu, but the file ends at %llu",
				img->name, (unsigned long long)at, (unsigned long long)(at + n));
	if (len > IMG_MSG_MAX)
		return img_fail(
			-EFBIG,
			"%s: corrupt length %u at offset %llu (messages are at most %u bytes)",
			img->name, len, (unsigned long long)at, IMG_MSG_MAX);
	if (len > img_remaining(img))
		return img_fail(-EBADMSG,
				"%s: truncated: message at offset %llu claims %u bytes, %llu left",
				img->name, (unsigned long long)at, len,
				(unsigned long long)img_remaining(img));
	buf = malloc(len ? len : 1);
	if (!buf)
		return img_fail(-ENOMEM, "%s: out of memory", img->name);
	n = rd(img, buf, len);
	if (n < 0)
		return n;
	if (n < len)
		return img_fail(-EBADMSG,
				"%s: truncated: file ends at offset %llu inside a message",
				img->name, (unsigned long long)img->off);
	if (pb_unpack(desc, buf, len, &msg))
		return img_fail(-EBADMSG, "%s: corrupt %s message (%u bytes) at offset %llu",
				img->name, pb_name(desc), len, (unsigned long long)at);
	*ret = msg;
	return 1;
}

int img_write_payload(struct img *img, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;
	int err;

	if (!img->write)
		return img_fail(-EINVAL, "%s: not open for writing", img->name);
	if (len < IMG_BUF_SIZE)
		return wr(img, buf, len);
	/* Large payloads (pages) skip the copy. */
	err = wr_flush(img);
	while (!err && len) {
		n = write(img->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			img->err = n < 0 ? -errno : -EIO;
			return img_fail(img->err, "%s: write failed at offset %llu: %s", img->name,
					(unsigned long long)img->off, strerror(-img->err));
		}
		p += n;
		len -= n;
		img->off += n;
	}
	return err;
}

int img_read_payload(struct img *img, void *buf, size_t len)
{
	uint64_t at = img->off;
	ssize_t n;

	if (img->write)
		return img_fail(-EINVAL, "%s: not open for reading", img->name);
	if (len > img_remaining(img))
		return img_fail(-EBADMSG,
				"%s: truncated: payload at offset %llu needs %zu bytes, %llu left",
				img->name, (unsigned long long)at, len,
				(unsigned long long)img_remaining(img));
	n = rd(img, buf, len);
	if (n < 0)
		return n;
	if ((size_t)n < len)
		return img_fail(-EBADMSG,
				"%s: truncated: file ends at offset %llu inside a payload",
				img->name, (unsigned long long)img->off);
	return 0;
}

int img_skip_payload(struct img *img, size_t len)
{
	uint8_t tmp[4096];
	size_t n;
	int err;

	while (len) {
		n = MIN(len, sizeof(tmp));
		err = img_read_payload(img, tmp, n);
		if (err)
			return err;
		len -= n;
	}
	return 0;
}
