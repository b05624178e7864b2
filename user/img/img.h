/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Image files in CRIU's format (shared/notes/criu-images.md §1-2): two magics (one for
 * inventory.img), then length-prefixed protobuf messages, some followed by a raw payload;
 * pages-<id>.img is raw. Plus the image directory's lifecycle: a dump writes into a fresh
 * directory and inventory.img, written last by rename, marks it complete.
 *
 * Library-style module: it logs at debug level only. Every refusal also leaves one line in
 * img_error() naming the file and, for bad contents, the byte offset; command code prints it.
 */
#ifndef CRUX_IMG_H
#define CRUX_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* The first u32 of every image but inventory.img and pages-*.img. */
#define IMG_MAGIC_COMMON 0x54564319u
/* The first u32 of stats-* and irmap-cache (not written by crux). */
#define IMG_MAGIC_SERVICE 0x55105940u
/* CRIU's file magics (their "town coordinates" lie in 0x43000000-0x68000000). */
#define IMG_MAGIC_INVENTORY 0x58313116u
#define IMG_MAGIC_PSTREE 0x50273030u
#define IMG_MAGIC_CORE 0x55053847u
#define IMG_MAGIC_IDS 0x54432030u
#define IMG_MAGIC_FS 0x51403912u
#define IMG_MAGIC_MM 0x57492820u
#define IMG_MAGIC_PAGEMAP 0x56084025u
#define IMG_MAGIC_FDINFO 0x56213732u
#define IMG_MAGIC_FILES 0x56303138u
#define IMG_MAGIC_SK_QUEUES 0x56264026u
#define IMG_MAGIC_PIPES_DATA 0x56453709u
#define IMG_MAGIC_TCP_STREAM 0x51465506u
#define IMG_MAGIC_FILE_LOCKS 0x54323616u
#define IMG_MAGIC_SECCOMP 0x64413049u
/* crux's own images: outside CRIU's range, so no CRIU version can ever collide with them. */
#define IMG_MAGIC_CRUX_EXT 0x13710e01u
/* The subdirectory of an image directory that holds crux's own images (crux-*.img). */
#define IMG_CRUX_DIR "crux"
#define IMG_MAGIC_CRUX_TASK 0x13710e02u
#define IMG_MAGIC_CRUX_FDS 0x13710e03u
#define IMG_MAGIC_CRUX_INET 0x13710e10u
#define IMG_MAGIC_CRUX_DGRAM 0x13710e11u
#define IMG_MAGIC_CRUX_NETLINK 0x13710e12u
#define IMG_MAGIC_CRIU_MIN 0x43000000u
#define IMG_MAGIC_CRIU_MAX 0x68000000u

/* inventory_entry.img_version: images v1.1, the common magic in every file but inventory.img */
#define IMG_VERSION 2

/* Largest message accepted from a length field (an mm_entry of 100k VMAs is ~6 MiB). */
#define IMG_MSG_MAX (32u << 20)

enum img_type {
	IMG_INVENTORY, /* inventory.img: inventory_entry */
	IMG_PSTREE, /* pstree.img: pstree_entry per task */
	IMG_CORE, /* core-<tid>.img: core_entry */
	IMG_IDS, /* ids-<pid>.img: task_kobj_ids_entry */
	IMG_FS, /* fs-<pid>.img: fs_entry */
	IMG_MM, /* mm-<pid>.img: mm_entry */
	IMG_PAGEMAP, /* pagemap-<pid>.img: pagemap_head, then pagemap_entry* */
	IMG_PAGES, /* pages-<pages_id>.img: raw page contents */
	IMG_FDINFO, /* fdinfo-<files_id>.img: fdinfo_entry per fd */
	IMG_FILES, /* files.img: file_entry per open file description */
	IMG_SK_QUEUES, /* sk-queues.img: sk_packet_entry + payload */
	IMG_PIPES_DATA, /* pipes-data.img: pipe_data_entry + payload */
	IMG_FILE_LOCKS, /* file-lock.img: file_lock_entry per lock */
	IMG_SECCOMP, /* seccomp.img: one seccomp_entry, every filter of the tree */
	IMG_CRUX_EXT, /* crux-ext.img: crux_ext_entry per external unix socket */
	IMG_CRUX_TASK, /* crux-task-<pid>.img: crux_task_entry */
	IMG_CRUX_FDS, /* crux-fds.img: crux_fd_entry per event-loop file (epoll targets, ...) */
	IMG_TCP_STREAM, /* tcp-stream-<ino>.img: tcp_stream_entry + queues */
	IMG_CRUX_INET, /* crux-inet.img: crux_inet_entry per inet socket */
	IMG_CRUX_DGRAM, /* crux-dgram.img: crux_dgram_entry + payload */
	IMG_CRUX_NETLINK, /* crux-netlink.img: crux_inet_entry (options) per netlink socket */
	IMG_SHMEM_PAGEMAP, /* pagemap-shmem-<ino>.img: pagemap_head, then entries (offsets) */
	IMG_TYPE_MAX,
};

/* img__open() flags */
enum {
	IMG_READ = 0,
	IMG_WRITE = 1,
};

struct img;

/* The text of this thread's last refusal by this module, "" if none (like dlerror()). */
const char *img_error(void);

/* The file magic of t (0 for pages), and whether t's file name carries a key. */
uint32_t img_type_magic(enum img_type t);
bool img_type_keyed(enum img_type t);
/* The descriptor of t's (first) message; NULL for pages. */
const ProtobufCMessageDescriptor *img_type_desc(enum img_type t);

/*
 * The file name of an image ("core-42.img"); key is ignored for unkeyed types.
 * 0 or -ENAMETOOLONG / -EINVAL.
 */
int img_name(enum img_type t, unsigned long key, char *buf, size_t size);
/* The reverse, for directory listings: 0 and the type and key, or -ENOENT if no image name. */
int img_parse_name(const char *name, enum img_type *ret_type, unsigned long *ret_key);

/*
 * Open an image under dirfd. IMG_WRITE creates the file (it must not exist) and writes the
 * magics; IMG_READ checks them. 0 and *ret, or -errno (-EBADMSG: wrong magic or too short).
 */
int img__open(int dirfd, enum img_type t, unsigned long key, int flags, struct img **ret);
/* Flush (writer) and free; returns 0 or the -errno of the final flush. NULL is fine. */
int img__close(struct img *img);

/* Append one message; -EINVAL if a required field is missing, -errno on I/O failure. */
int img_write_one(struct img *img, const ProtobufCMessage *msg);
/*
 * Read the next message as desc. 1 and *ret (free with pb_free()), 0 at a clean end of file,
 * -EBADMSG for a truncated or corrupt file, -EFBIG for a length above IMG_MSG_MAX.
 */
int img_read_one(struct img *img, const ProtobufCMessageDescriptor *desc, void **ret);

/* Raw bytes after a message (sk-queues, pipes-data) or the whole of a pages image. */
int img_write_payload(struct img *img, const void *buf, size_t len);
/* Exactly len bytes, or -EBADMSG if the file holds fewer. */
int img_read_payload(struct img *img, void *buf, size_t len);
/* Skip len payload bytes (-EBADMSG if the file holds fewer). */
int img_skip_payload(struct img *img, size_t len);
/* Bytes left to read: check a payload length before allocating for it. */
uint64_t img_remaining(const struct img *img);

/* The file name ("core-42.img") and the current byte offset. */
const char *img_path(const struct img *img);
uint64_t img_offset(const struct img *img);

/*
 * Image directories (imgdir.c). A dump: imgdir__create() (the directory must be new or
 * empty; the files go to a temporary directory beside it), img__open(imgdir_fd(d), ...,
 * IMG_WRITE) for each file, then imgdir__commit() writes inventory.img last, listing every
 * file's size and crc32, and renames the temporary directory into place. imgdir__abort()
 * removes everything written. A restore or show: imgdir__open() refuses a directory
 * without inventory.img, and any file missing, added, truncated or corrupt, by name.
 */
struct imgdir;
struct InventoryEntry;

int imgdir__create(const char *path, struct imgdir **ret);
int imgdir__commit(struct imgdir *d, const struct InventoryEntry *inv);
void imgdir__abort(struct imgdir *d);
/* Read-only open of a complete image; 0, or -ENOENT / -ENOTDIR / -ENODATA (incomplete). */
int imgdir__open(const char *path, struct imgdir **ret);
/*
 * Close a directory from imgdir__open() or a committed one. An uncommitted one is aborted:
 * closing before commit never leaves a directory that could be mistaken for an image.
 */
void imgdir__close(struct imgdir *d);
int imgdir_fd(const struct imgdir *d);
/*
 * Remove the temporary directories of dumps killed before their commit, under parent
 * (those whose crux pid is dead). Returns how many, or -errno.
 */
int imgdir_sweep_stale(const char *parent);
const char *imgdir_path(const struct imgdir *d);
/* The inventory read by imgdir__open() (NULL for a directory being written). */
const struct InventoryEntry *imgdir_inventory(const struct imgdir *d);

#endif /* CRUX_IMG_H */
