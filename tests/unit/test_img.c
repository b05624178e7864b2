// SPDX-License-Identifier: GPL-2.0-only
/*
 * The image layer: a round trip per image kind (write, read back, compare the packed bytes),
 * the framing on disk, crux magics outside CRIU's range, refusal of damaged files with the
 * file name and byte offset, and the image directory lifecycle.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img.h"
#include "pb.h"
#include "tap.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_ext.pb-c.h"
#include "crux_fds.pb-c.h"
#include "crux_inet.pb-c.h"
#include "crux_task.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "ids.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pipe_data.pb-c.h"
#include "pstree.pb-c.h"
#include "sk_packet.pb-c.h"
#include "tcp_stream.pb-c.h"

/* Remove a directory and what it holds. */
static void rm_rf(const char *path)
{
	struct dirent *de;
	DIR *dir = opendir(path);
	char p[512];

	while (dir && (de = readdir(dir))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			if (unlink(p) < 0 && errno == EISDIR)
				rm_rf(p);
		}
	}
	if (dir)
		closedir(dir);
	rmdir(path);
}

static char tmpdir[] = "/tmp/crux-test-img-XXXXXX";
static int dirfd_;

/* Sample messages, one per kind, with every required field and a few optional ones set. */
static FownEntry fown = FOWN_ENTRY__INIT;
static SkOptsEntry opts = SK_OPTS_ENTRY__INIT;

static ProtobufCMessage *sample_core(void)
{
	static UserX86RegsEntry regs = USER_X86_REGS_ENTRY__INIT;
	static UserX86FpregsEntry fp = USER_X86_FPREGS_ENTRY__INIT;
	static UserX86XsaveEntry xs = USER_X86_XSAVE_ENTRY__INIT;
	static ThreadInfoX86 ti = THREAD_INFO_X86__INIT;
	static TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	static ThreadCoreEntry th = THREAD_CORE_ENTRY__INIT;
	static RseqEntry rseq = RSEQ_ENTRY__INIT;
	static CoreEntry core = CORE_ENTRY__INIT;
	static uint32_t st[32], xmm[64], ymmh[64];
	static SaEntry sa[62], *sap[62];
	size_t i;

	regs.ip = 0x7fffdeadbeefULL;
	regs.sp = 0x7ffc00001000ULL;
	regs.orig_ax = (uint64_t)-1;
	regs.fs_base = 0x7f0000001740ULL;
	for (i = 0; i < 32; i++)
		st[i] = i * 7;
	for (i = 0; i < 64; i++)
		xmm[i] = ymmh[i] = 0xa5a50000 + i;
	fp.mxcsr = 0x1f80;
	fp.n_st_space = 32;
	fp.st_space = st;
	fp.n_xmm_space = 64;
	fp.xmm_space = xmm;
	xs.xstate_bv = 7;
	xs.n_ymmh_space = 64;
	xs.ymmh_space = ymmh;
	fp.xsave = &xs;
	ti.clear_tid_addr = 0x7f0000001a10ULL;
	ti.gpregs = &regs;
	ti.fpregs = &fp;
	tc.task_state = 1;
	tc.comm = "roundtrip";
	tc.blk_sigset = 1ULL << 13;
	for (i = 0; i < 62; i++) {
		sa_entry__init(&sa[i]);
		sa[i].sigaction = i == 14 ? 0x401000 : 0;
		sap[i] = &sa[i];
	}
	tc.n_sigactions = 62;
	tc.sigactions = sap;
	rseq.rseq_abi_pointer = 0x7f0000001fe0ULL;
	rseq.rseq_abi_size = 32;
	rseq.signature = 0x53053053;
	th.futex_rla = 0x7f0000001a20ULL;
	th.futex_rla_len = 24;
	th.has_sched_nice = 1;
	th.sched_nice = -5;
	th.rseq_entry = &rseq;
	core.mtype = CORE_ENTRY__MARCH__X86_64;
	core.thread_info = &ti;
	core.tc = &tc;
	core.thread_core = &th;
	return &core.base;
}

static ProtobufCMessage *sample_inventory(void)
{
	static TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	static InventoryEntry inv = INVENTORY_ENTRY__INIT;

	ids.vm_id = 1;
	ids.files_id = 2;
	ids.fs_id = 3;
	ids.sighand_id = 4;
	inv.img_version = 2;
	inv.has_fdinfo_per_id = 1;
	inv.fdinfo_per_id = 1;
	inv.root_ids = &ids;
	return &inv.base;
}

static ProtobufCMessage *sample_pstree(void)
{
	static uint32_t threads[] = { 100, 103 };
	static PstreeEntry e = PSTREE_ENTRY__INIT;

	e.pid = 100;
	e.pgid = 100;
	e.sid = 1;
	e.n_threads = 2;
	e.threads = threads;
	return &e.base;
}

static ProtobufCMessage *sample_ids(void)
{
	static TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;

	ids.vm_id = 11;
	ids.files_id = 12;
	ids.fs_id = 13;
	ids.sighand_id = 14;
	ids.has_net_ns_id = 1;
	ids.net_ns_id = 15;
	return &ids.base;
}

static ProtobufCMessage *sample_fs(void)
{
	static FsEntry e = FS_ENTRY__INIT;

	e.cwd_id = 5;
	e.root_id = 6;
	e.has_umask = 1;
	e.umask = 022;
	return &e.base;
}

static ProtobufCMessage *sample_mm(void)
{
	static VmaEntry v[2], *vp[2];
	static uint64_t auxv[] = { 6, 4096, 0, 0 };
	static MmEntry mm = MM_ENTRY__INIT;
	int i;

	for (i = 0; i < 2; i++) {
		vma_entry__init(&v[i]);
		v[i].start = 0x400000 + i * 0x1000;
		v[i].end = v[i].start + 0x1000;
		v[i].prot = 5;
		v[i].flags = 2;
		v[i].status = 0x41;
		v[i].shmid = 7;
		v[i].fd = -1;
		vp[i] = &v[i];
	}
	mm.mm_brk = 0x602000;
	mm.exe_file_id = 7;
	mm.n_mm_saved_auxv = 4;
	mm.mm_saved_auxv = auxv;
	mm.n_vmas = 2;
	mm.vmas = vp;
	return &mm.base;
}

static ProtobufCMessage *sample_pagemap(void)
{
	static PagemapHead h = PAGEMAP_HEAD__INIT;

	h.pages_id = 3;
	return &h.base;
}

static ProtobufCMessage *sample_fdinfo(void)
{
	static FdinfoEntry e = FDINFO_ENTRY__INIT;

	e.id = 9;
	e.flags = 1;
	e.type = FD_TYPES__UNIXSK;
	e.fd = 4;
	return &e.base;
}

static ProtobufCMessage *sample_files(void)
{
	static UnixSkEntry usk = UNIX_SK_ENTRY__INIT;
	static FileEntry fe = FILE_ENTRY__INIT;

	usk.id = 9;
	usk.ino = 123456;
	usk.type = 2;
	usk.state = 1;
	usk.flags = 2;
	usk.peer = 654321;
	usk.fown = &fown;
	usk.opts = &opts;
	usk.name.data = (uint8_t *)"\0logd\0x";
	usk.name.len = 7;
	usk.has_mnt_id = 1;
	usk.mnt_id = -1;
	fe.type = FD_TYPES__UNIXSK;
	fe.id = 9;
	fe.usk = &usk;
	return &fe.base;
}

static ProtobufCMessage *sample_sk_queues(void)
{
	static uint32_t rights[] = { 9, 10 };
	static ScmEntry scm = SCM_ENTRY__INIT, *scmp = &scm;
	static SkPacketEntry e = SK_PACKET_ENTRY__INIT;

	scm.type = 1;
	scm.n_rights = 2;
	scm.rights = rights;
	e.id_for = 9;
	e.length = 5;
	e.n_scm = 1;
	e.scm = &scmp;
	return &e.base;
}

static ProtobufCMessage *sample_pipes_data(void)
{
	static PipeDataEntry e = PIPE_DATA_ENTRY__INIT;

	e.pipe_id = 777;
	e.bytes = 5;
	e.has_size = 1;
	e.size = 65536;
	return &e.base;
}

static ProtobufCMessage *sample_crux_ext(void)
{
	static CruxExtEntry e = CRUX_EXT_ENTRY__INIT;

	e.has_ino = e.has_peer_ino = e.has_policy = e.has_peer_name = e.has_addr = 1;
	e.ino = 123456;
	e.peer_ino = 654321;
	e.policy = CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_DGRAM;
	e.peer_name.data = (uint8_t *)"/dev/log";
	e.peer_name.len = 8;
	e.addr = e.peer_name;
	e.peer_owner_comm = "rsyslogd";
	return &e.base;
}

static ProtobufCMessage *sample_crux_task(void)
{
	static uint8_t xsave[832];
	static CruxThreadEntry t = CRUX_THREAD_ENTRY__INIT, *tp = &t;
	static CruxTaskEntry e = CRUX_TASK_ENTRY__INIT;
	size_t i;

	for (i = 0; i < sizeof(xsave); i++)
		xsave[i] = i * 31;
	t.has_tid = t.has_xsave = 1;
	t.tid = 100;
	t.xsave.data = xsave;
	t.xsave.len = sizeof(xsave);
	e.has_pid = 1;
	e.pid = 100;
	e.n_threads = 1;
	e.threads = &tp;
	return &e.base;
}

static ProtobufCMessage *sample_crux_fds(void)
{
	static CruxEpollTarget t = CRUX_EPOLL_TARGET__INIT, *tp = &t;
	static CruxFdEntry e = CRUX_FD_ENTRY__INIT;

	t.has_tfd = t.has_target_id = 1;
	t.tfd = 40;
	t.target_id = 7;
	e.has_id = e.has_dump_realtime_ns = 1;
	e.id = 4;
	e.n_targets = 1;
	e.targets = &tp;
	e.dump_realtime_ns = 1796398978631089000ull;
	return &e.base;
}

static ProtobufCMessage *sample_tcp_stream(void)
{
	static TcpStreamEntry e = TCP_STREAM_ENTRY__INIT;

	e.inq_len = 3;
	e.outq_len = 2;
	e.inq_seq = 0xfffffff0u;
	e.outq_seq = 12345;
	e.opt_mask = 7;
	e.snd_wscale = 7;
	e.mss_clamp = 65483;
	e.has_unsq_len = 1;
	e.unsq_len = 1;
	return &e.base;
}

static ProtobufCMessage *sample_crux_inet(void)
{
	static CruxSockopt o = CRUX_SOCKOPT__INIT, *op = &o;
	static CruxInetEntry e = CRUX_INET_ENTRY__INIT;

	o.has_level = o.has_name = o.has_val = 1;
	o.level = 6;
	o.name = 1;
	o.val = 1;
	e.has_id = e.has_external = 1;
	e.id = 9;
	e.external = 1;
	e.lock_table = "crux-lock-42";
	e.n_opts = 1;
	e.opts = &op;
	return &e.base;
}

static ProtobufCMessage *sample_crux_dgram(void)
{
	static uint32_t addr = 0x0100007f;
	static CruxDgramEntry e = CRUX_DGRAM_ENTRY__INIT;

	e.has_id_for = e.has_length = e.has_family = e.has_src_port = 1;
	e.id_for = 9;
	e.length = 5;
	e.family = 2;
	e.n_src_addr = 1;
	e.src_addr = &addr;
	e.src_port = 5353;
	return &e.base;
}

static const struct sample {
	enum img_type type;
	ProtobufCMessage *(*make)(void);
	size_t payload; /* raw bytes after each message */
} samples[] = {
	{ IMG_INVENTORY, sample_inventory, 0 },
	{ IMG_PSTREE, sample_pstree, 0 },
	{ IMG_CORE, sample_core, 0 },
	{ IMG_IDS, sample_ids, 0 },
	{ IMG_FS, sample_fs, 0 },
	{ IMG_MM, sample_mm, 0 },
	{ IMG_PAGEMAP, sample_pagemap, 0 },
	{ IMG_FDINFO, sample_fdinfo, 0 },
	{ IMG_FILES, sample_files, 0 },
	{ IMG_SK_QUEUES, sample_sk_queues, 5 },
	{ IMG_PIPES_DATA, sample_pipes_data, 5 },
	{ IMG_CRUX_EXT, sample_crux_ext, 0 },
	{ IMG_CRUX_TASK, sample_crux_task, 0 },
	{ IMG_CRUX_FDS, sample_crux_fds, 0 },
	{ IMG_TCP_STREAM, sample_tcp_stream, 5 },
	{ IMG_CRUX_INET, sample_crux_inet, 0 },
	{ IMG_CRUX_DGRAM, sample_crux_dgram, 5 },
	{ IMG_CRUX_NETLINK, sample_crux_inet, 0 },
};

/* Same message: same packed bytes. */
static bool same_msg(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t la = pb_packed_size(a), lb = pb_packed_size(b);
	_cleanup_free_ uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);

	return la == lb && pa && pb && pb_pack(a, pa) == la && pb_pack(b, pb) == lb &&
	       !memcmp(pa, pb, la);
}

/* The event-loop payloads of file_entry, each packed and unpacked: CRIU's field numbers. */
static void test_evloop_files(void)
{
	static FownEntry fw = FOWN_ENTRY__INIT;
	EventfdFileEntry efd = EVENTFD_FILE_ENTRY__INIT;
	SignalfdEntry sfd = SIGNALFD_ENTRY__INIT;
	TimerfdEntry tfd = TIMERFD_ENTRY__INIT;
	EventpollTfdEntry ept = EVENTPOLL_TFD_ENTRY__INIT, *eptp = &ept;
	EventpollFileEntry ep = EVENTPOLL_FILE_ENTRY__INIT;
	uint64_t handle = 0x3c51a;
	FhEntry fh = FH_ENTRY__INIT;
	InotifyWdEntry wd = INOTIFY_WD_ENTRY__INIT, *wdp = &wd;
	InotifyFileEntry ify = INOTIFY_FILE_ENTRY__INIT;
	FanotifyFileEntry ffy = FANOTIFY_FILE_ENTRY__INIT;
	FileEntry fe[6];
	size_t i;

	efd.fown = sfd.fown = tfd.fown = ep.fown = ify.fown = ffy.fown = &fw;
	efd.counter = 5;
	sfd.sigmask = 1 << 9;
	tfd.clockid = 1, tfd.ticks = 7, tfd.vsec = 2, tfd.isec = 5;
	ept.tfd = 40, ept.events = 0x80000019, ept.data = 0x4444;
	ep.n_tfd = 1, ep.tfd = &eptp;
	fh.bytes = 8, fh.type = 1, fh.n_handle = 1, fh.handle = &handle;
	wd.wd = 3, wd.mask = 0x100, wd.s_dev = 0xfe00000, wd.f_handle = &fh;
	ify.n_wd = 1, ify.wd = &wdp;
	ffy.faflags = 2, ffy.evflags = 0x8000;
	for (i = 0; i < ARRAY_SIZE(fe); i++) {
		file_entry__init(&fe[i]);
		fe[i].id = (uint32_t)i + 1;
	}
	fe[0].type = FD_TYPES__EVENTFD, fe[0].efd = &efd;
	fe[1].type = FD_TYPES__SIGNALFD, fe[1].sgfd = &sfd;
	fe[2].type = FD_TYPES__TIMERFD, fe[2].tfd = &tfd;
	fe[3].type = FD_TYPES__EVENTPOLL, fe[3].epfd = &ep;
	fe[4].type = FD_TYPES__INOTIFY, fe[4].ify = &ify;
	fe[5].type = FD_TYPES__FANOTIFY, fe[5].ffy = &ffy;
	for (i = 0; i < ARRAY_SIZE(fe); i++) {
		size_t len = pb_packed_size(&fe[i].base);
		_cleanup_free_ uint8_t *buf = malloc(len + 1);
		void *back = NULL;

		ok(buf && pb_pack(&fe[i].base, buf) == len &&
			   pb_unpack(&file_entry__descriptor, buf, len, &back) == 0 &&
			   same_msg(&fe[i].base, back),
		   "file_entry of type %s packs and unpacks equal",
		   pb_enum_name(&fd_types__descriptor, fe[i].type));
		pb_free(back);
	}
}

static void test_roundtrip(const struct sample *s)
{
	ProtobufCMessage *msg = s->make();
	const char *pay = "hello";
	struct img *img;
	char name[64], buf[8];
	void *back = NULL;
	int i, err = 0, n = 0;

	img_name(s->type, 42, name, sizeof(name));
	if (!ok(img__open(dirfd_, s->type, 42, IMG_WRITE, &img) == 0, "%s: create", name)) {
		diag("%s", img_error());
		return;
	}
	for (i = 0; i < 2 && !err; i++) {
		err = img_write_one(img, msg);
		if (!err && s->payload)
			err = img_write_payload(img, pay, s->payload);
	}
	err = img__close(img) ?: err;
	is_int(err, 0, "%s: two messages written", name);

	if (!ok(img__open(dirfd_, s->type, 42, IMG_READ, &img) == 0, "%s: open", name)) {
		diag("%s", img_error());
		return;
	}
	while ((err = img_read_one(img, msg->descriptor, &back)) == 1 && n < 3) {
		if (s->payload)
			ok(img_read_payload(img, buf, s->payload) == 0 &&
				   !memcmp(buf, pay, s->payload),
			   "%s: payload %d reads back", name, n);
		ok(same_msg(msg, back), "%s: message %d reads back equal", name, n);
		pb_free(TAKE_PTR(back));
		n++;
	}
	is_int(err, 0, "%s: clean end of file", name);
	is_int(n, 2, "%s: two messages read", name);
	img__close(img);
}

static void test_pages(void)
{
	/* Over the 64 KiB buffer: both the buffered and the direct paths are taken. */
	static uint8_t page[40 * 4096 + 100], back[sizeof(page)];
	struct img *img;
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(page); i++)
		page[i] = i ^ (i >> 8);
	if (!ok(img__open(dirfd_, IMG_PAGES, 3, IMG_WRITE, &img) == 0, "pages-3.img: create"))
		return;
	ok(img_write_payload(img, page, 100) == 0 &&
		   img_write_payload(img, page + 100, sizeof(page) - 100) == 0,
	   "pages: a small then a large write");
	is_int(img__close(img), 0, "pages: closed");
	if (fstatat(dirfd_, "pages-3.img", &st, 0) < 0)
		st.st_size = -1;
	is_int(st.st_size, sizeof(page), "pages: raw, no magic");
	if (!ok(img__open(dirfd_, IMG_PAGES, 3, IMG_READ, &img) == 0, "pages: open"))
		return;
	ok(img_read_payload(img, back, 100) == 0 &&
		   img_read_payload(img, back + 100, sizeof(back) - 100) == 0 &&
		   !memcmp(back, page, sizeof(page)),
	   "pages: a small then a large read give the same bytes");
	is_int(img_offset(img), sizeof(page), "pages: the offset counts every byte");
	is_int(img_read_payload(img, back, 1), -EBADMSG, "pages: reading past the end is refused");
	img__close(img);
}

static void test_magics(void)
{
	const uint32_t crux[] = {
		IMG_MAGIC_CRUX_EXT,  IMG_MAGIC_CRUX_TASK,  IMG_MAGIC_CRUX_FDS,
		IMG_MAGIC_CRUX_INET, IMG_MAGIC_CRUX_DGRAM, IMG_MAGIC_CRUX_NETLINK
	};
	uint32_t head[2] = { 0, 0 };
	int t, u, fd, inside = 0, distinct = 1, n_crux = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(crux); i++)
		ok(crux[i] < IMG_MAGIC_CRIU_MIN || crux[i] >= IMG_MAGIC_CRIU_MAX,
		   "crux magic 0x%08x is outside CRIU's range", crux[i]);
	ok(IMG_MAGIC_COMMON != IMG_MAGIC_CRUX_EXT && IMG_MAGIC_SERVICE != IMG_MAGIC_CRUX_EXT &&
		   IMG_MAGIC_COMMON != IMG_MAGIC_CRUX_TASK &&
		   IMG_MAGIC_SERVICE != IMG_MAGIC_CRUX_TASK &&
		   IMG_MAGIC_COMMON != IMG_MAGIC_CRUX_FDS &&
		   IMG_MAGIC_SERVICE != IMG_MAGIC_CRUX_FDS,
	   "crux magics differ from the common and service magics");
	for (t = 0; t < IMG_TYPE_MAX; t++) {
		uint32_t m = img_type_magic(t);

		/* crux's own images: 0x13710eNN */
		if ((m >> 8) == 0x13710eu)
			n_crux++;
		else if (t != IMG_PAGES)
			inside += m >= IMG_MAGIC_CRIU_MIN && m < IMG_MAGIC_CRIU_MAX;
		for (u = t + 1; u < IMG_TYPE_MAX; u++)
			/* CRIU gives pagemap-shmem the pagemap magic: same messages */
			if (m && m == img_type_magic(u) &&
			    !(t == IMG_PAGEMAP && u == IMG_SHMEM_PAGEMAP))
				distinct = 0;
	}
	is_int(n_crux, ARRAY_SIZE(crux), "every crux image has a crux magic");
	is_int(inside, IMG_TYPE_MAX - 1 - n_crux, "every CRIU file magic lies in CRIU's range");
	ok(distinct, "file magics are distinct");

	fd = openat(dirfd_, "core-42.img", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, head, 8) == 8 && head[0] == IMG_MAGIC_COMMON &&
		   head[1] == IMG_MAGIC_CORE,
	   "core image starts with the common magic then its own");
	if (fd >= 0)
		close(fd);
	fd = openat(dirfd_, "inventory-42.img", O_RDONLY | O_CLOEXEC);
	ok(fd < 0, "inventory has no key in its name");
	fd = openat(dirfd_, "inventory.img", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, head, 4) == 4 && head[0] == IMG_MAGIC_INVENTORY,
	   "inventory.img starts with its single magic");
	if (fd >= 0)
		close(fd);
}

static void test_names(void)
{
	char buf[64];
	enum img_type t;
	unsigned long key;

	img_name(IMG_FDINFO, 7, buf, sizeof(buf));
	is_str(buf, "fdinfo-7.img", "fdinfo name carries the files id");
	img_name(IMG_SK_QUEUES, 7, buf, sizeof(buf));
	is_str(buf, "sk-queues.img", "sk-queues has no key");
	ok(img_parse_name("crux/crux-task-4242.img", &t, &key) == 0 && t == IMG_CRUX_TASK &&
		   key == 4242,
	   "crux/crux-task-4242.img parses");
	ok(img_parse_name("crux/crux-ext.img", &t, &key) == 0 && t == IMG_CRUX_EXT,
	   "crux/crux-ext.img parses");
	is_int(img_parse_name("core-.img", &t, &key), -ENOENT, "core-.img is no image name");
	is_int(img_parse_name("core-1x.img", &t, &key), -ENOENT, "core-1x.img is no image name");
	is_int(img_parse_name("files.img.tmp", &t, &key), -ENOENT, "files.img.tmp is no image");
	is_int(img_name(IMG_CORE, 1, buf, 6), -ENAMETOOLONG, "a short buffer is refused");
}

/* Write raw bytes as an image file. */
static void put_file(const char *name, const void *buf, size_t len)
{
	int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		tap_bail("cannot write %s: %s", name, strerror(errno));
	close(fd);
}

/* The first len bytes of a good pstree image with two messages, and its size. */
static size_t good_pstree(uint8_t *buf, size_t size)
{
	struct img *img;
	ssize_t n;
	int fd;

	unlinkat(dirfd_, "pstree.img", 0);
	if (img__open(dirfd_, IMG_PSTREE, 0, IMG_WRITE, &img) ||
	    img_write_one(img, sample_pstree()) || img_write_one(img, sample_pstree()) ||
	    img__close(img))
		tap_bail("cannot write pstree.img: %s", img_error());
	fd = openat(dirfd_, "pstree.img", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, size);
	if (n <= 0)
		tap_bail("cannot read pstree.img back");
	close(fd);
	return n;
}

/* Read every message of name as pstree; the first failure's code and img_error(). */
static int read_all(const char *name, char *err, size_t errsz)
{
	struct img *img = NULL;
	void *msg;
	int rc;

	snprintf(err, errsz, "(no error)");
	rc = img__open(dirfd_, IMG_PSTREE, 0, IMG_READ, &img);
	while (!rc && (rc = img_read_one(img, &pstree_entry__descriptor, &msg)) == 1) {
		pb_free(msg);
		rc = 0;
	}
	if (rc < 0)
		snprintf(err, errsz, "%s", img_error());
	img__close(img);
	return rc;
}

static void expect_refusal(const char *what, int want, const char *offset)
{
	char err[512], needle[64];
	const char *at;
	int rc;

	rc = read_all("pstree.img", err, sizeof(err));
	is_int(rc, want, "%s is refused", what);
	snprintf(needle, sizeof(needle), "offset %s", offset);
	at = strstr(err, needle);
	if (at && at[strlen(needle)] >= '0' && at[strlen(needle)] <= '9')
		at = NULL; /* "offset 8" must not match "offset 80" */
	if (!ok(strstr(err, "pstree.img") && at, "%s: the error names the file and %s", what,
		needle))
		diag("got: %s", err);
}

static void test_corrupt(void)
{
	uint8_t good[256], bad[256];
	size_t len = good_pstree(good, sizeof(good));
	uint32_t first = *(uint32_t *)(good + 8), huge = 0xfffffff0u, big = 1000;
	char off[32];

	memcpy(bad, good, len);
	put_file("pstree.img", bad, len - 3);
	snprintf(off, sizeof(off), "%u", 12 + first);
	expect_refusal("a truncated file", -EBADMSG, off);

	put_file("pstree.img", bad, 10);
	expect_refusal("a file ending inside a length", -EBADMSG, "8");

	memcpy(bad + 8, &huge, 4);
	put_file("pstree.img", bad, len);
	expect_refusal("a corrupted length above the cap", -EFBIG, "8");

	memcpy(bad + 8, &big, 4);
	put_file("pstree.img", bad, len);
	expect_refusal("a length beyond the end of the file", -EBADMSG, "8");

	memcpy(bad, good, len);
	bad[4] ^= 0x40;
	put_file("pstree.img", bad, len);
	expect_refusal("a bad file magic", -EBADMSG, "4");

	memcpy(bad, good, len);
	bad[0] ^= 0x01;
	put_file("pstree.img", bad, len);
	expect_refusal("a bad common magic", -EBADMSG, "0");

	put_file("pstree.img", good, 6);
	expect_refusal("a file ending inside its magic", -EBADMSG, "6");

	/* Wire garbage where the first message should be: a field with wire type 7. */
	memcpy(bad, good, len);
	memset(bad + 12, 0xff, first);
	put_file("pstree.img", bad, len);
	expect_refusal("a corrupt message body", -EBADMSG, "8");

	/* A valid message missing required fields (CRIU's C reader refuses it too). */
	memcpy(bad, good, len);
	bad[8] = 2;
	bad[12] = 0x08; /* pid = 1, and nothing else */
	bad[13] = 0x01;
	put_file("pstree.img", bad, 14);
	expect_refusal("a message without its required fields", -EBADMSG, "8");
	unlinkat(dirfd_, "pstree.img", 0);
}

static void test_write_refusals(void)
{
	CoreEntry core = CORE_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	struct img *img;

	if (!ok(img__open(dirfd_, IMG_CORE, 7, IMG_WRITE, &img) == 0, "core-7.img: create"))
		return;
	core.tc = &tc; /* tc.comm, a required string, is NULL */
	is_int(img_write_one(img, &core.base), -EINVAL,
	       "a message missing a required field is refused");
	ok(strstr(img_error(), "core-7.img") && strstr(img_error(), "required"),
	   "the error names the file and the missing field");
	img__close(img);
	is_int(img__open(dirfd_, IMG_CORE, 7, IMG_WRITE, &img), -EEXIST,
	       "an image file is never overwritten");
	if (img__open(dirfd_, IMG_CORE, 7, IMG_READ, &img) == 0) {
		void *msg = NULL;

		is_int(img_read_one(img, &core_entry__descriptor, &msg), 0,
		       "nothing was written for the refused message");
		img__close(img);
	}
}

static void test_imgdir(void)
{
	InventoryEntry *inv = (InventoryEntry *)sample_inventory();
	char path[512], p2[600];
	struct imgdir *d, *r;
	struct img *img;
	struct stat st;

	snprintf(path, sizeof(path), "%s/set", tmpdir);
	if (!ok(imgdir__create(path, &d) == 0, "imgdir: create a new directory"))
		return;
	ok(img__open(imgdir_fd(d), IMG_PSTREE, 0, IMG_WRITE, &img) == 0 &&
		   img_write_one(img, sample_pstree()) == 0 && img__close(img) == 0,
	   "imgdir: write pstree.img");
	is_int(imgdir__open(path, &r), -ENOENT,
	       "imgdir: an uncommitted image is refused (it is still in its temporary directory)");
	ok(strstr(img_error(), "cannot open image directory") && strstr(img_error(), path),
	   "imgdir: the refusal names the directory");
	snprintf(p2, sizeof(p2), "%s/inventory.img", path);
	ok(stat(p2, &st) < 0, "imgdir: no inventory.img before commit");
	is_int(imgdir__commit(d, inv), 0, "imgdir: commit");
	ok(stat(p2, &st) == 0, "imgdir: inventory.img after commit");
	snprintf(p2, sizeof(p2), "%s/.inventory.img.tmp", path);
	ok(stat(p2, &st) < 0, "imgdir: no temporary file left");
	imgdir__close(d);
	if (ok(imgdir__open(path, &r) == 0, "imgdir: a committed image opens")) {
		ok(imgdir_inventory(r) && imgdir_inventory(r)->img_version == 2 &&
			   imgdir_inventory(r)->root_ids->files_id == 2,
		   "imgdir: its inventory is read");
		imgdir__close(r);
	}
	ok(stat(path, &st) == 0, "imgdir: closing an opened image leaves it alone");
	is_int(imgdir__create(path, &d), -EEXIST, "imgdir: a non-empty directory is refused");
	ok(strstr(img_error(), "not empty"), "imgdir: ... saying so");

	/* A failed dump: abort removes what it wrote and the directory it made. */
	snprintf(path, sizeof(path), "%s/failed", tmpdir);
	if (!ok(imgdir__create(path, &d) == 0, "imgdir: create another"))
		return;
	img__open(imgdir_fd(d), IMG_PSTREE, 0, IMG_WRITE, &img);
	img__close(img);
	imgdir__abort(d);
	ok(stat(path, &st) < 0 && errno == ENOENT, "imgdir: abort removes the directory");

	/* An existing empty directory may be used; abort empties it but keeps it. */
	mkdir(path, 0700);
	if (ok(imgdir__create(path, &d) == 0, "imgdir: an existing empty directory is accepted")) {
		img__open(imgdir_fd(d), IMG_FILES, 0, IMG_WRITE, &img);
		img__close(img);
		imgdir__close(d); /* closing before commit aborts */
		snprintf(p2, sizeof(p2), "%s/files.img", path);
		ok(stat(path, &st) == 0 && stat(p2, &st) < 0,
		   "imgdir: close before commit empties a directory it did not create");
	}
	rmdir(path);
	is_int(imgdir__open("/nonexistent/crux", &r), -ENOENT, "imgdir: a missing directory");
}

int main(void)
{
	size_t i;

	if (!mkdtemp(tmpdir))
		tap_bail("mkdtemp: %s", strerror(errno));
	dirfd_ = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < ARRAY_SIZE(samples); i++)
		test_roundtrip(&samples[i]);
	test_evloop_files();
	test_pages();
	test_magics();
	test_names();
	test_corrupt();
	test_write_refusals();
	test_imgdir();
	close(dirfd_);
	rm_rf(tmpdir);
	return done_testing();
}
